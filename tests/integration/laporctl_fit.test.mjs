// Issue 13: every human output of laporctl fits 80 columns, through the real
// binary, with a long link name and a long multibyte report (UCS-2,
// concatenated); with --json each command prints exactly one JSON document.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import { laporctl, makeWorkdir, startStack } from './harness.mjs';
import { waitForReplies } from './upstream_util.mjs';

const k_link = 'telkomsel-jabodetabek-primary-01'; // the longest name a link may have (32)
const k_text = 'LAPORYAI Jalan berlubang di Jl. Jenderal Sudirman — depan Pasar Induk, sudah tiga ' +
  'minggu tidak diperbaiki 🚧; dua pengendara motor jatuh. Mohon Dinas Bina Marga segera ' +
  'menindaklanjuti. 日本語のテキストも入っています。Terima kasih banyak atas perhatiannya, ' +
  'Bapak dan Ibu petugas.';

// Display columns: one per code point, two for East Asian wide characters and emoji.
function columns(line) {
  let n = 0;
  for (const ch of line) {
    n += /[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]|\p{Extended_Pictographic}/u
      .test(ch) ? 2 : 1;
  }
  return n;
}

test('laporctl: every human output fits 80 columns; --json is one document', { timeout: 90000 }, async () => {
  const wd = await makeWorkdir('laporctl_fit');
  await wd.run(async () => {
    const { sim, daemon, configPath } = await startStack(wd, { config: { smsc: { name: k_link } } });
    const msisdn = '6281377700099';
    await sim.sendMoConcatenated({ from: msisdn, text: k_text });
    await waitForReplies(sim, msisdn, 'forwarded', { daemon });
    const [{ ref }] = (await laporctl(configPath, ['--json', 'reports'])).json;
    const backup = path.join(wd.path, 'a-rather-long-folder-name-for-the-backups-of-the-gateway',
      'laporsms-backup-of-the-command-center.db');
    await mkdir(path.dirname(backup));

    const commands = [
      ['status'], ['reports'], ['report', ref], ['messages'], ['messages', '--direction', 'in'],
      ['stats'], ['stats', '--by', 'week'], ['retry', '--failed'], ['resend', ref], ['backup', backup],
      ['check'], ['check', backup],
    ];
    const wide = [];
    for (const args of commands) {
      const text = await laporctl(configPath, args, { timeoutMs: 20000 });
      assert.ok(text.code === 0, `laporctl ${args.join(' ')} exits 0: ${text.stderr}`);
      assert.ok(text.stdout.length > 0, `laporctl ${args.join(' ')} prints something`);
      for (const line of text.stdout.split('\n')) {
        if (columns(line) > 80) {
          wide.push(`laporctl ${args.join(' ')}: ${columns(line)} columns: ${line}`);
        }
      }
      if (args[0] === 'backup') {
        continue; // the --json run below would write the same file again; it is checked by `check`
      }
      const json = await laporctl(configPath, ['--json', ...args], { timeoutMs: 20000 });
      assert.ok(json.json !== null && typeof json.json === 'object',
        `laporctl --json ${args.join(' ')} prints one JSON document`);
    }
    assert.deepEqual(wide, [], 'no line wider than 80 columns');

    // The report reads as its life: text, the attempt, the tracking id, the replies.
    const report = (await laporctl(configPath, ['report', ref])).stdout;
    assert.match(report, new RegExp(`^Report ${ref}, tracking id #\\S+: forwarded`));
    assert.match(report, /\nUpstream \(1 attempt\)\n {2}\S+ \S+ +[^\n]+? {2}delivered\n {4}tracking id #/);
    assert.match(report, /\nReplies \(\d+\)\n {2}\S+ \S+ {2}received/);
    assert.ok(report.includes('🚧') && report.includes('日本語'), 'the multibyte text is shown');
    // --json of report keeps its keys.
    const detail = (await laporctl(configPath, ['--json', 'report', ref])).json;
    for (const key of ['ref', 'tracking_id', 'text', 'inbound', 'attempts', 'status_history', 'replies']) {
      assert.ok(key in detail, `report --json has ${key}`);
    }
    assert.equal(detail.text, k_text.slice('LAPORYAI '.length));
    assert.deepEqual(await daemon.stop({ timeoutMs: 20000 }), { code: 0, signal: null });
  });
});
