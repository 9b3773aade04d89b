// Issue 13: `laporctl stats` through the real binary on a database the test
// fills (the daemon's own schema, then known reports): counts per local day
// in Asia/Jakarta, a known median and p90, in JSON, CSV, text and HTML; the
// page opens in headless Chromium, which draws a screenshot and finds one bar
// per day in the chart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { laporctl, makeWorkdir } from './harness.mjs';
import { migratedDatabase, writeReports } from './stats_fixture.mjs';

const k_env = { TZ: 'Asia/Jakarta' };
const k_second = 1000;

// Local time in Asia/Jakarta (UTC+7, no daylight saving) as Unix ms.
function wib(day, hour = 0, minute = 0, second = 0) {
  return Date.UTC(2026, 10, day, hour - 7, minute, second);
}

function chromium(args, timeoutMs = 60000) {
  return new Promise((resolve) => {
    execFile('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
      '--window-size=1600,1200', ...args], { timeout: timeoutMs, maxBuffer: 32 << 20 },
    (error, stdout, stderr) => resolve({ error, stdout, stderr }));
  });
}

test('laporctl stats: known counts per day and percentiles in JSON, CSV, text and HTML', { timeout: 120000 },
  async (t) => {
    const wd = await makeWorkdir('laporctl_stats');
    await wd.run(async () => {
      const { configPath, dbPath } = await migratedDatabase(wd.path);
      // Nov 2: 3 forwarded (10, 20, 30 s) of which one closed, 1 failed; Nov 3: 2 forwarded
      // (40, 50 s), 1 held; Nov 4: nothing. One report before and one after the period.
      writeReports(dbPath, [
        { receivedAt: wib(1, 23, 59, 59), state: 'forwarded', trackingMs: 1 * k_second },
        { receivedAt: wib(2, 0, 0, 0), state: 'forwarded', trackingMs: 10 * k_second, status: 'Diproses',
          replies: ['delivered', 'delivered'] },
        { receivedAt: wib(2, 9), state: 'closed', trackingMs: 20 * k_second, status: 'Selesai',
          replies: ['undeliverable'] },
        { receivedAt: wib(2, 23, 59, 59), state: 'forwarded', trackingMs: 30 * k_second, status: 'Diproses' },
        { receivedAt: wib(2, 12), state: 'failed', trackingMs: null },
        { receivedAt: wib(3, 7), state: 'forwarded', trackingMs: 40 * k_second },
        { receivedAt: wib(3, 8), state: 'forwarded', trackingMs: 50 * k_second },
        { receivedAt: wib(3, 9), state: 'held', trackingMs: null },
        { receivedAt: wib(5, 0, 0, 0), state: 'forwarded', trackingMs: 2 * k_second },
      ], [{ createdAt: wib(3, 12), state: 'delivered' }]);
      const range = ['stats', '--since', '2026-11-02', '--until', '2026-11-04'];

      const json = await laporctl(configPath, ['--json', ...range], { env: k_env });
      assert.equal(json.code, 0, json.stderr);
      const doc = json.json;
      assert.equal(doc.since, '2026-11-02T00:00:00+07:00');
      assert.equal(doc.until, '2026-11-05T00:00:00+07:00');
      assert.deepEqual(doc.time_zone, { name: 'Asia/Jakarta', abbreviation: 'WIB', utc_offset: '+07:00' });
      assert.deepEqual(doc.totals, { received: 7, forwarded: 5, failed: 1, closed: 1, held: 1, waiting: 0 });
      assert.deepEqual(doc.time_to_tracking_s, { p50: 30, p90: 50, count: 5 });
      assert.deepEqual(doc.replies, { delivered: 3, undeliverable: 1 });
      assert.deepEqual(doc.top_statuses, [{ status: 'Diproses', count: 2 }, { status: 'Selesai', count: 1 }]);
      assert.deepEqual(doc.periods.map((p) => [p.start, p.received, p.forwarded, p.failed, p.closed, p.held]),
        [['2026-11-02', 4, 3, 1, 1, 0], ['2026-11-03', 3, 2, 0, 0, 1], ['2026-11-04', 0, 0, 0, 0, 0]]);
      assert.deepEqual(doc.periods[0].time_to_tracking_s, { p50: 20, p90: 30, count: 3 });

      const csv = await laporctl(configPath, ['--csv', ...range], { env: k_env });
      assert.equal(csv.code, 0, csv.stderr);
      const rows = csv.stdout.trim().split('\n');
      assert.equal(rows.length, 5, `a header, 3 days and the total: ${csv.stdout}`);
      assert.equal(rows[1], '2026-11-02,2026-11-02,2026-11-03,4,3,1,1,0,0,20.000,30.000,2,1,"Asia/Jakarta +07:00"');
      assert.equal(rows[4], 'total,2026-11-02,2026-11-05,7,5,1,1,1,0,30.000,50.000,3,1,"Asia/Jakarta +07:00"');

      const page = path.join(wd.path, 'stats.html');
      const text = await laporctl(configPath, [...range, '--html', page], { env: k_env });
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^Reports 2026-11-02 to 2026-11-04, by day; times in Asia\/Jakarta \(WIB,/);
      assert.match(text.stdout, /SMS to tracking id: median 30\.0 s, p90 50\.0 s \(5 reports\)/);
      const html = await readFile(page, 'utf8');
      assert.ok(!/<script|https?:|<link|<img|@import/i.test(html), 'the page loads nothing and runs nothing');

      // Headless Chromium: debian's `chromium` (scripts/install-deps). Missing
      // outside CI, the browser half is skipped; in CI it must be there.
      const probe = await chromium(['--version'], 20000);
      if (probe.error && process.env.CI !== 'true') {
        t.diagnostic(`chromium not installed (${probe.error.code ?? probe.error.message}): browser check skipped`);
        return;
      }
      assert.ok(!probe.error, `chromium runs: ${probe.error?.message}`);
      const dom = await chromium(['--dump-dom', `file://${page}`]);
      assert.ok(!dom.error, `chromium --dump-dom: ${dom.error?.message} ${dom.stderr.slice(-500)}`);
      const bars = [...dom.stdout.matchAll(/<g class="period" data-label="([^"]+)" data-received="(\d+)"/g)];
      assert.deepEqual(bars.map((m) => [m[1], Number(m[2])]),
        [['2026-11-02', 4], ['2026-11-03', 3], ['2026-11-04', 0]], 'one bar per day in the rendered chart');
      assert.equal([...dom.stdout.matchAll(/<rect class="bar /g)].length, 3 + 2,
        'Nov 2: closed, forwarded, failed; Nov 3: forwarded, held');
      const shot = path.join(wd.path, 'stats.png');
      const drawn = await chromium([`--screenshot=${shot}`, `file://${page}`]);
      assert.ok(!drawn.error, `chromium --screenshot: ${drawn.error?.message} ${drawn.stderr.slice(-500)}`);
      const png = await readFile(shot);
      assert.ok((await stat(shot)).size > 10000, 'the screenshot has something on it');
      assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
      assert.equal(png.readUInt32BE(16), 1600, 'screenshot width');
    });
  });
