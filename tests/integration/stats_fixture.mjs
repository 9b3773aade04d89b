// Databases for `laporctl stats`: the daemon's own schema (laporsmsd creates
// and migrates it while its link has nobody to answer), then reports written
// with SQL: a few chosen by a test, or a million for timing.
//
//   node tests/integration/stats_fixture.mjs --reports 1000000 --days 365 --out /tmp/stats.db
//     (LAPORSMSD names the daemon; prints the config to run laporctl with)

import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

import { freePort, sqlite, startDaemon, waitFor, writeConfig } from './harness.mjs';

// Runs `sql` on `dbPath` read-write with the sqlite3 shell.
export function runSql(dbPath, sql) {
  execFileSync('sqlite3', ['-bail', dbPath], { input: sql, maxBuffer: 64 << 20 });
}

// A database at `dir`/laporsms.db migrated by laporsmsd itself, and a config
// naming it (its link and API point at closed ports).
export async function migratedDatabase(dir) {
  const configPath = await writeConfig(dir, {
    smscPort: await freePort(),
    apiUrl: `http://127.0.0.1:${await freePort()}/api`,
  });
  const dbPath = path.join(dir, 'laporsms.db');
  const daemon = await startDaemon(configPath);
  try {
    await waitFor(async () => {
      try {
        const rows = await sqlite(dbPath, 'SELECT count(*) AS n FROM ref_key');
        return rows[0]?.n === 1;
      } catch {
        return false;
      }
    }, { what: 'the migrated database', daemon });
  } finally {
    await daemon.stop({ timeoutMs: 20000 });
  }
  return { configPath, dbPath };
}

const quote = (v) => (v === null || v === undefined ? 'NULL' : `'${String(v).replace(/'/g, "''")}'`);

// Writes `reports` (each {receivedAt ms, state, trackingMs (ms from the SMS
// to the tracking id, or null), status, text, replies: ['delivered', ...]}),
// their upstream jobs and attempts, and `strays` (replies to no report,
// {createdAt, state}).
export function writeReports(dbPath, reports, strays = []) {
  const lines = ['BEGIN;'];
  reports.forEach((r, i) => {
    const id = i + 1;
    const tracked = r.trackingMs !== null && r.trackingMs !== undefined;
    lines.push(`INSERT INTO reports (id, ref, msisdn, link, text, rahasia, anonim, state, tracking_id, status, ` +
      `received_at, updated_at) VALUES (${id}, 'MTRT${id}', '6281234${String(id).padStart(5, '0')}', ` +
      `${quote(r.link ?? 'telkomsel')}, ${quote(r.text ?? `laporan ${id}`)}, 1, 1, ${quote(r.state)}, ` +
      `${tracked ? quote(`19${id}`) : 'NULL'}, ${quote(r.status ?? null)}, ${r.receivedAt}, ${r.receivedAt});`);
    const job = { failed: 'failed', held: 'held', received: 'pending', forwarding: 'inflight' }[r.state] ?? 'done';
    lines.push(`INSERT INTO upstream_jobs (report_id, state, attempts, next_attempt_at, created_at, updated_at) ` +
      `VALUES (${id}, '${job}', 1, ${r.receivedAt}, ${r.receivedAt}, ${r.receivedAt});`);
    if (tracked) {
      // A temporary failure first, so only the delivered attempt's end counts.
      lines.push(`INSERT INTO upstream_attempts (report_id, started_at, finished_at, outcome, error) VALUES ` +
        `(${id}, ${r.receivedAt}, ${r.receivedAt + 10}, 'temporary', 'HTTP 503');`);
      lines.push(`INSERT INTO upstream_attempts (report_id, started_at, finished_at, outcome) VALUES ` +
        `(${id}, ${r.receivedAt + r.trackingMs - 5}, ${r.receivedAt + r.trackingMs}, 'delivered');`);
    }
    for (const state of r.replies ?? []) {
      lines.push(`INSERT INTO outbound (report_id, kind, link, msisdn, text, state, created_at, updated_at) ` +
        `VALUES (${id}, 'received', 'telkomsel', '628123', 'Terima kasih', '${state}', ${r.receivedAt}, ${r.receivedAt + 1000});`);
    }
  });
  for (const s of strays) {
    lines.push(`INSERT INTO outbound (report_id, kind, link, msisdn, text, state, created_at, updated_at) ` +
      `VALUES (NULL, 'help', 'telkomsel', '628999', 'Format: LAPORYAI', '${s.state}', ${s.createdAt}, ${s.createdAt + 500});`);
  }
  lines.push('COMMIT;');
  runSql(dbPath, lines.join('\n'));
}

// `count` reports spread evenly over `days` days from local midnight
// `sinceMs`: 1 % failed, 1 % held, 1 % waiting, the rest forwarded (40 % of
// all closed since) after 1 to 60 s; two replies each, one in 50 undeliverable.
export function writeSyntheticReports(dbPath, { count, sinceMs, days }) {
  const span = days * 86400000;
  runSql(dbPath, `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
CREATE TEMP TABLE n AS WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ${count - 1})
  SELECT i, ${sinceMs} + i * ${span} / ${count} AS at,
    CASE WHEN i % 100 = 0 THEN 'failed' WHEN i % 100 = 1 THEN 'held' WHEN i % 100 = 2 THEN 'received'
         WHEN i % 10 < 4 THEN 'closed' ELSE 'forwarded' END AS state,
    1000 + (i * 7919) % 59000 AS took FROM s;
INSERT INTO reports (id, ref, msisdn, link, text, rahasia, anonim, state, tracking_id, status, received_at, updated_at)
  SELECT i + 1, 'MTRB' || (i + 1), '62812' || printf('%07d', i % 9999999), 'telkomsel',
    'laporan warga nomor ' || i || ': jalan berlubang di depan pasar, sudah tiga minggu belum diperbaiki', 1, 1,
    state, CASE WHEN state IN ('forwarded', 'closed') THEN 'T' || i END,
    CASE WHEN state = 'closed' THEN 'Selesai' WHEN state = 'forwarded' AND i % 3 = 0 THEN 'Diproses'
         WHEN state = 'forwarded' AND i % 3 = 1 THEN 'Belum Terverifikasi' END,
    at, at + took FROM n;
INSERT INTO upstream_jobs (report_id, state, attempts, next_attempt_at, created_at, updated_at)
  SELECT i + 1, CASE state WHEN 'failed' THEN 'failed' WHEN 'held' THEN 'held' WHEN 'received' THEN 'pending'
    ELSE 'done' END, 1, at, at, at FROM n;
INSERT INTO upstream_attempts (report_id, started_at, finished_at, outcome, error)
  SELECT i + 1, at, at + 200, 'temporary', 'HTTP 503' FROM n WHERE i % 5 = 0;
INSERT INTO upstream_attempts (report_id, started_at, finished_at, outcome)
  SELECT i + 1, at + took - 300, at + took, 'delivered' FROM n WHERE state IN ('forwarded', 'closed');
INSERT INTO outbound (report_id, kind, link, msisdn, text, state, created_at, updated_at)
  SELECT i + 1, 'received', 'telkomsel', '62812', 'Terima kasih, laporan Anda kami terima',
    CASE WHEN i % 50 = 7 THEN 'undeliverable' ELSE 'delivered' END, at, at + 3000 FROM n;
INSERT INTO outbound (report_id, kind, link, msisdn, text, state, created_at, updated_at)
  SELECT i + 1, 'forwarded', 'telkomsel', '62812', 'Laporan sudah masuk LAPOR!', 'delivered', at + took,
    at + took + 3000 FROM n WHERE state IN ('forwarded', 'closed');
DROP TABLE n;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
`);
}

async function main() {
  const { values } = parseArgs({
    options: { reports: { type: 'string', default: '1000000' }, days: { type: 'string', default: '365' },
      out: { type: 'string' }, since: { type: 'string', default: '2026-01-01' } },
  });
  if (!values.out) {
    throw new Error('usage: node tests/integration/stats_fixture.mjs --out FILE [--reports N] [--days D] [--since DATE]');
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'laporsms-stats-'));
  try {
    const { dbPath } = await migratedDatabase(dir);
    const [y, m, d] = values.since.split('-').map(Number);
    const started = Date.now();
    writeSyntheticReports(dbPath, { count: Number(values.reports), sinceMs: new Date(y, m - 1, d).getTime(),
      days: Number(values.days) });
    process.stderr.write(`wrote ${values.reports} reports in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    const out = path.resolve(values.out);
    await copyFile(dbPath, out);
    const config = `${out}.toml`;
    await writeFile(config, `[[smsc]]\nname = "sim"\nhost = "127.0.0.1"\nsystem_id = "x"\npassword = "x"\n\n` +
      `[store]\npath = "${out}"\n\n[upstream]\nurl = "http://127.0.0.1:9/api"\n\n[control]\nsocket = "${out}.sock"\n`,
      { mode: 0o600 });
    process.stdout.write(`${config}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  });
}
