// Issue 14, backups: `laporctl backup FILE` while the daemon takes SMS, and
// `laporctl check` on the copy (interfaces.md §1, README "Backups").
//
// The SMSC simulator keeps offering reports, ten at a time, before, during
// and after the backup. Every report acknowledged before the backup began
// must be in the copy, the copy must pass `laporctl check` by itself (no
// config, no WAL beside it), and intake must go on while the copy is made.
// A copy with scribbled pages must fail `laporctl check` with exit 2.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

import { laporctl, makeWorkdir, runProgram, sleep, sqlite, startStack, waitFor } from './harness.mjs';

function msisdn(i) {
  return `6281522${String(i).padStart(5, '0')}`;
}

// laporctl with exactly `args` (no config): a backup is checked anywhere.
function ctlBare(args) {
  return runProgram(process.env.LAPORCTL, args, { timeoutMs: 30000 });
}

test('a backup taken under load holds every report acknowledged before it began, and checks sound',
  { timeout: 120000 }, async () => {
    const wd = await makeWorkdir('backup_under_load');
    await wd.run(async () => {
      const { sim, daemon, configPath } = await startStack(wd);
      const acked = []; // {from, at}
      let sending = true;
      let sent = 0;
      const load = (async () => {
        while (sending && sent < 20000) {
          const batch = [];
          for (let k = 0; k < 10; k++, sent++) {
            const from = msisdn(sent);
            batch.push(sim.sendMo({ from, text: `LAPORYAI drainase tersumbat di RT ${sent} sejak hujan kemarin` })
              .then(({ status }) => {
                if (status === 0) {
                  acked.push({ from, at: Date.now() });
                }
              }));
          }
          await Promise.all(batch);
        }
      })();
      await waitFor(() => acked.length >= 150, {
        daemon, timeoutMs: 30000, what: () => `150 reports acknowledged (${acked.length} so far)`,
      });

      const backupFile = path.join(wd.path, 'backups', 'laporsms.db');
      await mkdir(path.dirname(backupFile));
      const startedAt = Date.now();
      const before = new Set(acked.filter((a) => a.at < startedAt).map((a) => a.from));
      const backup = await laporctl(configPath, ['backup', backupFile], { timeoutMs: 30000 });
      const endedAt = Date.now();
      const ackedDuring = acked.filter((a) => a.at >= startedAt && a.at <= endedAt).length;
      await sleep(300);
      const ackedAfter = acked.filter((a) => a.at > endedAt).length;
      sending = false;
      await load;
      process.stderr.write(`backup of ${before.size}+ reports in ${endedAt - startedAt} ms; ` +
        `${ackedDuring} MO acknowledged meanwhile, ${ackedAfter} in the 300 ms after\n`);

      assert.equal(backup.code, 0, `laporctl backup: exit 0 (stderr: ${backup.stderr})`);
      // (Wrapped at 80 columns where the path is long.)
      assert.match(backup.stdout,
        /^backup written:\s+\S*laporsms\.db\s+\(\d+\s+reports,\s+[\d.]+\s+MiB,\s+[\d.]+\s+s\)\n$/);
      assert.ok(ackedAfter > 0, 'intake goes on after the backup');
      // One file: no WAL, no partial copy left beside it; not world-readable.
      assert.deepEqual(await readdir(path.dirname(backupFile)), ['laporsms.db']);
      assert.equal((await stat(backupFile)).mode & 0o777, 0o640, 'the backup is mode 0640');

      const inCopy = new Set((await sqlite(backupFile, 'SELECT msisdn FROM reports')).map((r) => r.msisdn));
      const missing = [...before].filter((from) => !inCopy.has(from));
      assert.deepEqual(missing, [], `${missing.length} of ${before.size} reports acknowledged before the backup ` +
        'began are not in it');

      const checked = await ctlBare(['check', backupFile]);
      assert.equal(checked.code, 0, `laporctl check BACKUP: exit 0 (${checked.stdout}${checked.stderr})`);
      assert.match(checked.stdout,
        /: sound \(integrity\s+and\s+foreign\s+keys\s+ok,\s+schema\s+version\s+\d+,\s+\d+\s+reports/);
      const live = await laporctl(configPath, ['--json', 'check']);
      assert.equal(live.code, 0, `laporctl check on the running daemon's database: exit 0 (${live.stdout})`);
      assert.equal(live.json.sound, true);

      // Scribbled pages: NOT sound, exit 2, with SQLite's own words.
      const damaged = path.join(wd.path, 'damaged.db');
      await copyFile(backupFile, damaged);
      const size = (await stat(damaged)).size;
      const handle = await open(damaged, 'r+');
      await handle.write(Buffer.alloc(3 * 4096, 0xa5), 0, 3 * 4096, Math.floor(size / 2 / 4096) * 4096);
      await handle.close();
      const bad = await ctlBare(['check', damaged]);
      assert.equal(bad.code, 2, `laporctl check on a damaged copy: exit 2 (${bad.stdout}${bad.stderr})`);
      assert.match(bad.stdout, /NOT\s+sound;\s+\d+\s+problem\(s\):\n +\S/);

      const exit = await daemon.stop({ timeoutMs: 15000 });
      assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM: exit 0');
    });
  });
