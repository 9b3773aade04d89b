// SIGHUP re-reads the keywords and the rate limits (interfaces.md §1), not
// only the reply templates (daemon_signals.test.mjs): without a restart, a
// report keyword added to [keywords] files reports and a removed one no
// longer does; a raised [limits] max_reports_per_sender forwards what the old
// limit held, a lowered one holds (stored, not forwarded, the citizen told
// once) what the old one forwarded; a lowered min_report_chars files what was
// an empty report. A broken [keywords]/[limits] is refused, each fault logged
// with its key, and the policy in force stays: nothing of the file applies.
// Other sections changed in the same file wait for a restart (second test).

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  fillTemplate, makeWorkdir, sleep, sqlite, startStack, templateRegex, waitFor, writeConfig,
} from './harness.mjs';

const k_reloaded = /reload: reply templates, keywords and limits re-read/;

test('SIGHUP applies new keywords and rate limits, and refuses a broken [keywords]/[limits]',
  { timeout: 120000 }, async () => {
    const wd = await makeWorkdir('daemon_reload_policy');
    await wd.run(async () => {
      const policyA = {
        keywords: { report: ['LAPORYAI', 'ADUAN'] },
        limits: { max_reports_per_sender: 2, min_report_chars: 10 },
      };
      const { sim, api, daemon, dbPath } = await startStack(wd, { config: policyA });

      // The config file rewritten whole with `policy` (same links, store, upstream).
      const rewrite = (policy) => writeConfig(wd.path, {
        smscPort: sim.port, apiUrl: api.url, apiToken: api.token, ...policy,
      });
      const reload = async () => {
        const before = daemon.lines.filter((l) => k_reloaded.test(l)).length;
        daemon.child.kill('SIGHUP');
        await waitFor(() => daemon.lines.filter((l) => k_reloaded.test(l)).length > before,
          { daemon, what: 'the reload log line' });
      };
      const mo = async (from, text) => {
        assert.equal((await sim.sendMo({ from, text })).status, 0, `the SMSC's MO from ${from} is acknowledged`);
      };
      // The deliver_sm_resp comes after the commit: what the MO filed is stored by now.
      const reportsOf = (from) => sqlite(dbPath,
        `SELECT r.id, r.state, r.text, (SELECT count(*) FROM upstream_jobs j WHERE j.report_id = r.id) AS jobs
         FROM reports r WHERE r.msisdn = '${from}' ORDER BY r.id`);
      const replies = (from) => sim.messagesTo(from).filter((m) => m.complete).map((m) => m.text);
      const waitForReply = (from, matches, what) => waitFor(() => replies(from).find(matches),
        { daemon, timeoutMs: 15000, what: () => `${what} to ${from} (got: ${JSON.stringify(replies(from))})` });
      const isReceived = (t) => templateRegex('received').test(t);
      const isHelp = (t) => t === fillTemplate('help', {});
      const isRateLimited = (t) => t === fillTemplate('rate_limited', {});
      const isEmptyReport = (t) => t === fillTemplate('empty_report', {});
      // A report filed and forwarded: not held, its job queued, the API got its text.
      const assertForwarded = async (from, text) => {
        const row = (await reportsOf(from)).find((r) => r.text === text);
        assert.ok(row, `${from}'s "${text}" is a stored report`);
        assert.notEqual(row.state, 'held', `${from}'s "${text}" is not held`);
        assert.equal(row.jobs, 1, `${from}'s "${text}" is queued upstream`);
        await waitFor(() => api.posts.some((p) => p.telpon === from && p.isi === text),
          { daemon, timeoutMs: 15000, what: `the API to receive ${from}'s "${text}"` });
      };
      // A report stored but held by the rate limit: no upstream job at all.
      const assertHeld = async (from, text) => {
        const row = (await reportsOf(from)).find((r) => r.text === text);
        assert.ok(row, `${from}'s "${text}" is a stored report`);
        assert.equal(row.state, 'held', `${from}'s "${text}" is held by the rate limit`);
        assert.equal(row.jobs, 0, `${from}'s "${text}" is not queued upstream`);
      };

      const adder = '6281377720001'; // writes PENGADUAN, the keyword the reload adds
      const remover = '6281377720002'; // writes ADUAN, the keyword the reload removes
      const frequent = '6281377720003'; // over the old limit, under the new one
      const brief = '6281377720004'; // a report shorter than the old min_report_chars
      const steady = '6281377720005'; // within the old policy, over the one after the lowering

      // --- policy A: ADUAN is a report keyword, 2 reports per sender, 10 chars at least.
      await mo(adder, 'PENGADUAN jalan berlubang di RT 05');
      await waitForReply(adder, isHelp, 'the help reply to an unknown keyword');
      assert.deepEqual(await reportsOf(adder), [], 'PENGADUAN files nothing before the reload');

      await mo(remover, 'ADUAN lampu jalan mati di gang melati');
      await assertForwarded(remover, 'lampu jalan mati di gang melati');
      await waitForReply(remover, isReceived, 'the received reply');

      await mo(frequent, 'LAPORYAI sampah menumpuk di pasar baru');
      await mo(frequent, 'LAPORYAI got tersumbat di jalan kenanga');
      await mo(frequent, 'LAPORYAI pohon tumbang di jalan mawar');
      await assertForwarded(frequent, 'sampah menumpuk di pasar baru');
      await assertForwarded(frequent, 'got tersumbat di jalan kenanga');
      await assertHeld(frequent, 'pohon tumbang di jalan mawar');
      await waitForReply(frequent, isRateLimited, 'the rate_limited reply to the third report');

      await mo(brief, 'LAPORYAI banjir');
      await waitForReply(brief, isEmptyReport, 'the empty_report reply to 6 characters');
      assert.deepEqual(await reportsOf(brief), [], 'a report under min_report_chars files nothing');

      await mo(steady, 'LAPORYAI trotoar rusak di depan sekolah');
      await assertForwarded(steady, 'trotoar rusak di depan sekolah');

      // --- policy B: PENGADUAN replaces ADUAN, 4 reports per sender, 3 chars at least.
      const policyB = {
        keywords: { report: ['LAPORYAI', 'PENGADUAN'] },
        limits: { max_reports_per_sender: 4, min_report_chars: 3 },
      };
      await rewrite(policyB);
      await reload();
      const reloadLine = daemon.lines.findLast((l) => k_reloaded.test(l));
      assert.match(reloadLine, /config=\S*laporsmsd\.toml/, `the reload line names the file: ${reloadLine}`);

      await mo(adder, 'PENGADUAN jalan berlubang di RT 05 makin lebar');
      await assertForwarded(adder, 'jalan berlubang di RT 05 makin lebar');
      await waitForReply(adder, isReceived, 'the received reply to the added keyword');

      await mo(remover, 'ADUAN lampu jalan mati lagi di gang melati');
      await waitForReply(remover, isHelp, 'the help reply to the removed keyword');
      assert.equal((await reportsOf(remover)).length, 1, 'ADUAN files nothing after the reload');

      await mo(frequent, 'LAPORYAI pohon tumbang lagi di jalan mawar');
      await assertForwarded(frequent, 'pohon tumbang lagi di jalan mawar');
      await waitFor(() => replies(frequent).filter(isReceived).length === 3,
        { daemon, timeoutMs: 15000, what: 'a third received reply to the frequent sender' });

      await mo(brief, 'LAPORYAI macet');
      await assertForwarded(brief, 'macet');

      await mo(steady, 'LAPORYAI trotoar rusak di depan pasar');
      await assertForwarded(steady, 'trotoar rusak di depan pasar');

      // --- policy C: the limit lowered to 1; steady has 2 reports in the window.
      const policyC = { ...policyB, limits: { ...policyB.limits, max_reports_per_sender: 1 } };
      await rewrite(policyC);
      await reload();
      await mo(steady, 'LAPORYAI trotoar rusak di depan masjid');
      await assertHeld(steady, 'trotoar rusak di depan masjid');
      await waitForReply(steady, isRateLimited, 'the rate_limited reply after the lowering');

      // --- a broken file: a keyword in two lists, a limit of 0, a window that is no duration.
      await rewrite({
        keywords: { report: ['LAPORYAI', 'PENGADUAN'], help: ['INFO', 'PENGADUAN'] },
        limits: { max_reports_per_sender: 0, sender_window: 'sebentar', min_report_chars: 3 },
      });
      const linesBeforeBroken = daemon.lines.length;
      const reloadsBeforeBroken = daemon.lines.filter((l) => k_reloaded.test(l)).length;
      daemon.child.kill('SIGHUP');
      const refusal = await waitFor(() => daemon.lines.slice(linesBeforeBroken)
        .find((l) => /reload: keeping the running configuration/.test(l)), { daemon, what: 'the refusal' });
      assert.match(refusal, / faults=3 /, `the refusal counts the faults: ${refusal}`);
      const faults = daemon.lines.slice(linesBeforeBroken).filter((l) => /reload: a fault/.test(l));
      assert.equal(faults.length, 3, `one line per fault: ${faults.join(' | ')}`);
      for (const key of ['keywords\\.help\\[1\\]', 'limits\\.max_reports_per_sender', 'limits\\.sender_window']) {
        assert.ok(faults.some((l) => new RegExp(`laporsmsd\\.toml:\\d+: key '${key}'`).test(l)),
          `a fault names ${key}: ${faults.join(' | ')}`);
      }
      assert.equal(daemon.lines.filter((l) => k_reloaded.test(l)).length, reloadsBeforeBroken,
        'the broken file is not reported as re-read');
      daemon.assertRunning('a broken reload');

      // Policy C is still in force: PENGADUAN files, a second report is held.
      const late = '6281377720006';
      await mo(late, 'PENGADUAN kabel listrik menjuntai di RW 03');
      await assertForwarded(late, 'kabel listrik menjuntai di RW 03');
      await waitForReply(late, isReceived, 'the received reply after the broken reload');
      assert.ok(!replies(late).some(isHelp), 'PENGADUAN is still a report keyword, not help');
      await mo(late, 'PENGADUAN kabel listrik masih menjuntai di RW 03');
      await assertHeld(late, 'kabel listrik masih menjuntai di RW 03');
      await waitForReply(late, isRateLimited, 'the rate_limited reply under the kept limit of 1');

      // Nothing held reached the API, nothing was posted twice.
      await sleep(300);
      const posted = api.posts.map((p) => `${p.telpon} ${p.isi}`).sort();
      assert.deepEqual(posted, [
        `${remover} lampu jalan mati di gang melati`,
        `${frequent} sampah menumpuk di pasar baru`,
        `${frequent} got tersumbat di jalan kenanga`,
        `${frequent} pohon tumbang lagi di jalan mawar`,
        `${steady} trotoar rusak di depan sekolah`,
        `${adder} jalan berlubang di RT 05 makin lebar`,
        `${brief} macet`,
        `${steady} trotoar rusak di depan pasar`,
        `${late} kabel listrik menjuntai di RW 03`,
      ].sort(), 'the API got exactly the reports the policy in force let through');
    });
  });

// What the contract leaves to a restart stays as it runs after SIGHUP, and
// the log says a restart is needed for it, while the reloadable part of the
// same file applies: a changed [reports] ref_prefix and [upstream] rahasia
// (both read by the intake) must not reach reports filed after the reload.
test('SIGHUP leaves settings outside [keywords], [limits] and [replies] to a restart',
  { timeout: 60000 }, async () => {
    const wd = await makeWorkdir('daemon_reload_kept');
    await wd.run(async () => {
      const { sim, api, daemon, dbPath } = await startStack(wd, {
        config: { keywords: { report: ['LAPORYAI'] } },
      });
      await writeConfig(wd.path, {
        smscPort: sim.port, apiUrl: api.url, apiToken: api.token,
        keywords: { report: ['LAPORYAI', 'PENGADUAN'] },
        reports: { ref_prefix: 'BDG' },
        upstream: { rahasia: false },
      });
      const before = daemon.lines.length;
      daemon.child.kill('SIGHUP');
      await waitFor(() => daemon.lines.slice(before).some((l) => k_reloaded.test(l)),
        { daemon, what: 'the reload log line' });

      const from = '6281377720011';
      assert.equal((await sim.sendMo({ from, text: 'PENGADUAN selokan mampet di gang dahlia' })).status, 0);
      await waitFor(() => api.posts.some((p) => p.telpon === from),
        { daemon, timeoutMs: 15000, what: 'the report filed under the added keyword' });
      const [row] = await sqlite(dbPath, `SELECT ref FROM reports WHERE msisdn = '${from}'`);
      assert.match(row.ref, /^MTR/, `the running ref_prefix stays until a restart: ${row.ref}`);
      const post = api.posts.find((p) => p.telpon === from);
      assert.equal(post.rahasia, true, `the running rahasia stays until a restart: ${JSON.stringify(post)}`);
      const restart = daemon.lines.slice(before).find((l) => /reload: .*need a restart/.test(l));
      assert.ok(restart, `a line says what needs a restart: ${daemon.lines.slice(before).join(' | ')}`);
      assert.match(restart, /reports/, `it names [reports]: ${restart}`);
      assert.match(restart, /upstream/, `it names [upstream]: ${restart}`);
    });
  });
