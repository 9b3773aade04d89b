// Issue 11, laporctl through the real binary (interfaces.md §1), against the
// SMSC simulator and the API double:
//
//  1. Usage errors (an unknown command, a bad option or option value, a
//     missing or extra argument) exit 64 with a message on stderr, and change
//     nothing in the daemon.
//  2. Global options (--config, --json) may stand before or after the command:
//     each placement prints the same document and exits the same way.
//  3. After a known mix of traffic (one report forwarded, one rejected for
//     good, one failed by give_up_after, a help request), every live field of
//     `status` matches what the peers counted themselves: deliver_sm answered
//     by the simulator, submit_sm it accepted, POSTs the API double took or
//     refused; while a report waits for the API, status is degraded (exit 1)
//     with its age; `reports --state/--since/--limit` list exactly what they should.
//  4. `retry --failed` sends both failed reports back and they are forwarded,
//     each once; `resend REF` makes the simulator see the last reply exactly
//     once more.
//
// laporctl_operator.test.mjs covers laporctl without the secret files and a
// stored sender that is not UTF-8; upstream_rejected.test.mjs `retry REF`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import {
  fillTemplate, k_ref_pattern, laporctl, makeWorkdir, runProgram, sleep, startStack, waitFor,
} from './harness.mjs';
import { ctlReport, fileReportAndGetRef, repliesOf, waitForReplies } from './upstream_util.mjs';

const k_give_up_ms = 3000;

// laporctl with exactly `args` (no --config put in front, unlike harness.mjs
// laporctl): resolves {code, signal, stdout, stderr}; bounded by `timeoutMs`.
function ctlRaw(args, { timeoutMs = 10000, env = {} } = {}) {
  const bin = process.env.LAPORCTL;
  if (!bin) {
    return Promise.reject(new Error('LAPORCTL is not set'));
  }
  return runProgram(bin, args, { env: { ...process.env, ...env }, timeoutMs });
}

function parseJson(result, what) {
  try {
    return JSON.parse(result.stdout);
  } catch (error) {
    throw new Error(`${what}: no JSON document on stdout (${error.message}); exit ${result.code}, ` +
      `stdout: ${result.stdout.slice(0, 300)} stderr: ${result.stderr.slice(0, 300)}`);
  }
}

// YYYY-MM-DD of the local day `days` from today (laporctl reads --since in local time).
function localDate(days = 0) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// The fields of `status` that change from one call to the next.
function stable(doc) {
  const { checked_at: _checked, throughput: _throughput, store: _store, ...rest } = doc;
  return rest;
}

// --- 1 and 2: usage errors; options before or after the command ------------------

// `says`: what the message must name, so the operator knows what was wrong.
const k_usage_errors = [
  { why: 'no command', args: [], says: /command/i },
  { why: 'an unknown command', args: ['frobnicate'], says: /frobnicate/ },
  { why: 'an unknown command with --json', args: ['--json', 'frobnicate'], says: /frobnicate/ },
  { why: 'an unknown global option', args: ['--verbose', 'status'], says: /--verbose/ },
  // An option is no command: the message must not call it one.
  { why: 'an unknown global option and no command', args: ['--verbose'], says: /option '--verbose'|expected: --verbose/ },
  { why: 'an unknown option before an unknown command', args: ['--verbose', 'frobnicate'], says: /command 'frobnicate'/ },
  { why: 'an unknown option of reports', args: ['reports', '--bogus'], says: /--bogus/ },
  { why: 'an extra argument to status', args: ['status', 'now'], says: /now/ },
  { why: '--limit 0', args: ['reports', '--limit', '0'], says: /--limit/ },
  { why: '--limit that is not a number', args: ['reports', '--limit', 'ten'], says: /--limit/ },
  { why: '--limit without a value', args: ['reports', '--limit'], says: /--limit/ },
  { why: '--state that is not a state', args: ['reports', '--state', 'lost'], says: /--state/ },
  { why: '--since that is not a date', args: ['reports', '--since', 'yesterday'], says: /--since/ },
  { why: '--since with a month 13', args: ['reports', '--since', '2026-13-01'], says: /--since/ },
  { why: '--since with a day past the month', args: ['reports', '--since', '2026-02-30'], says: /--since/ },
  { why: '--since with trailing junk', args: ['reports', '--since', '2026-11-01junk'], says: /--since/ },
  { why: '--direction sideways', args: ['messages', '--direction', 'sideways'], says: /--direction/ },
  { why: 'report without REF', args: ['report'], says: /REF/ },
  { why: 'resend without REF', args: ['resend'], says: /REF/ },
  { why: 'retry without REF or --failed', args: ['retry'], says: /REF|--failed/ },
  { why: 'retry with both REF and --failed', args: ['retry', 'MTR2345', '--failed'], says: /REF|--failed/ },
  { why: 'retry with two REFs', args: ['retry', 'MTR2345', 'MTR2346'], says: /MTR2346/ },
  { why: 'stats --by year', args: ['stats', '--by', 'year'], says: /--by/ },
  { why: 'stats --since that is not a date', args: ['stats', '--since', '2026-11'], says: /--since/ },
  { why: 'stats --until before --since', args: ['stats', '--since', '2026-11-02', '--until', '2026-11-01'], says: /--until/ },
  { why: '--csv with a command other than stats', args: ['--csv', 'reports'], says: /--csv/ },
  { why: 'stats with --json and --csv', args: ['--json', '--csv', 'stats'], says: /--csv/ },
];
// A message is a line or two for a person, not a page.
const k_longest_message = 200;

test('laporctl: usage errors exit 64 with a message; options stand before or after the command',
  { timeout: 90000 }, async (t) => {
    const wd = await makeWorkdir('laporctl_usage');
    await wd.run(async () => {
      const { sim, api, daemon, configPath } = await startStack(wd, {
        config: { upstream: { retry_min: '100ms', retry_max: '1s', timeout: '2s' } },
      });
      const ref = await fileReportAndGetRef(sim, '6281377700001', 'lampu jalan padam di gang mawar sejak seminggu',
        { daemon });
      await waitForReplies(sim, '6281377700001', 'forwarded', { daemon });
      const submitsBefore = sim.submits.length;

      const failures = [];
      for (const { why, args, says } of k_usage_errors) {
        const result = await ctlRaw(['--config', configPath, ...args]);
        const message = result.stderr.trim().split('\n')[0] ?? '';
        if (result.code !== 64 || !says.test(message) || message.length > k_longest_message) {
          failures.push(`${why} (laporctl ${args.join(' ')}): exit ${result.code}, message ` +
            `${JSON.stringify(result.stderr.slice(0, 300))} (should name ${says})`);
        } else {
          t.diagnostic(`${why}: ${result.stderr.trim().split('\n')[0]}`);
        }
      }
      // `--help` is no error.
      const help = await ctlRaw(['--help']);
      if (help.code !== 0 || !/status/.test(help.stdout)) {
        failures.push(`--help: exit ${help.code}, stdout ${JSON.stringify(help.stdout.slice(0, 200))}`);
      }
      assert.deepEqual(failures, [], 'every usage error exits 64 with a short message on stderr that names what was wrong');
      assert.equal(sim.submits.length, submitsBefore, 'no usage error sent anything');
      assert.equal(api.posts.length, 1, 'no usage error forwarded anything');

      // The same documents whichever side of the command --config and --json stand.
      const placements = {
        'reports': [
          ['--config', configPath, '--json', 'reports', '--state', 'forwarded'],
          ['--json', 'reports', '--state', 'forwarded', '--config', configPath],
          ['reports', '--state', 'forwarded', '--json', '--config', configPath],
          ['reports', '--json', '--config', configPath, '--state', 'forwarded'],
          ['--config', configPath, 'reports', '--state', 'forwarded', '--json'],
        ],
        'report': [
          ['--config', configPath, '--json', 'report', ref],
          ['report', ref, '--json', '--config', configPath],
          ['report', '--config', configPath, ref, '--json'],
        ],
        'messages': [
          ['--config', configPath, '--json', 'messages', '--direction', 'out'],
          ['messages', '--direction', 'out', '--json', '--config', configPath],
        ],
        'status': [
          ['--config', configPath, '--json', 'status'],
          ['status', '--json', '--config', configPath],
          ['status', '--config', configPath, '--json'],
        ],
      };
      for (const [command, variants] of Object.entries(placements)) {
        const docs = [];
        for (const args of variants) {
          const result = await ctlRaw(args);
          assert.equal(result.code, 0, `laporctl ${args.join(' ')} exits 0; stderr: ${result.stderr}`);
          const doc = parseJson(result, `laporctl ${args.join(' ')}`);
          docs.push(command === 'status' ? stable(doc) : doc);
        }
        for (const [i, doc] of docs.entries()) {
          assert.deepEqual(doc, docs[0], `${command}: laporctl ${variants[i].join(' ')} prints what ` +
            `laporctl ${variants[0].join(' ')} prints`);
        }
        if (command === 'reports') {
          assert.deepEqual(docs[0].map((r) => r.ref), [ref], 'the forwarded report is listed');
        }
        if (command === 'messages') {
          assert.equal(docs[0].length, 2, 'two replies out: received and forwarded');
          assert.ok(docs[0].every((m) => m.direction === 'out'));
        }
      }
      // LAPORSMS_CONFIG names the config when --config does not; --config wins over it.
      const byEnv = await ctlRaw(['reports', '--json'], { env: { LAPORSMS_CONFIG: configPath } });
      assert.equal(byEnv.code, 0, `LAPORSMS_CONFIG: ${byEnv.stderr}`);
      assert.deepEqual(parseJson(byEnv, 'reports with LAPORSMS_CONFIG').map((r) => r.ref), [ref]);
      const overridden = await ctlRaw(['reports', '--json', '--config', configPath],
        { env: { LAPORSMS_CONFIG: `${wd.path}/no-such.toml` } });
      assert.equal(overridden.code, 0, `--config over LAPORSMS_CONFIG: ${overridden.stderr}`);
      assert.deepEqual(parseJson(overridden, 'reports --config over LAPORSMS_CONFIG').map((r) => r.ref), [ref]);
      // The text form takes --config after the command too.
      const text = await ctlRaw(['reports', '--config', configPath]);
      assert.equal(text.code, 0, `reports --config after the command: ${text.stderr}`);
      assert.ok(text.stdout.includes(ref), `the text listing names ${ref}: ${text.stdout}`);
      const textStatus = await ctlRaw(['status', '--config', configPath]);
      assert.equal(textStatus.code, 0, `status --config after the command: ${textStatus.stderr}`);
      assert.match(textStatus.stdout, /daemon:\s+running/);
      // retry with its option after the command and --json last: a control command, nothing failed.
      const retry = await ctlRaw(['retry', '--failed', '--config', configPath, '--json']);
      assert.equal(retry.code, 0, `retry --failed with options after it: ${retry.stderr}`);
      assert.equal(parseJson(retry, 'retry --failed --json').requeued, 0, 'nothing was failed');

      assert.deepEqual(await daemon.stop({ timeoutMs: 20000 }), { code: 0, signal: null });

      // With the daemon gone: critical, whichever side of the command the options stand.
      for (const args of [['--config', configPath, '--json', 'status'], ['status', '--json', '--config', configPath]]) {
        const down = await ctlRaw(args);
        assert.equal(down.code, 2, `laporctl ${args.join(' ')} with no daemon exits 2`);
        const doc = parseJson(down, `laporctl ${args.join(' ')}`);
        assert.equal(doc.daemon, 'not running');
        assert.deepEqual(doc.links.map((l) => [l.name, l.state]), [['sim', 'down']]);
        assert.equal(doc.queues.upstream_failed, 0, 'the queues still come from the database');
      }
      const retryDown = await ctlRaw(['retry', '--failed', '--config', configPath]);
      assert.equal(retryDown.code, 2, 'retry with no daemon to ask exits 2');
      assert.match(retryDown.stderr, /laporsmsd/, `it says the daemon is not there: ${retryDown.stderr}`);
      // The read-only listing works without the daemon.
      const offline = await ctlRaw(['reports', '--json', '--config', configPath]);
      assert.equal(offline.code, 0, offline.stderr);
      assert.deepEqual(parseJson(offline, 'reports with no daemon').map((r) => r.ref), [ref]);
    });
  });

// --- 3 and 4: status against the peers; filters; retry --failed; resend -------------

test('laporctl status matches the peers after a known mix; reports filters; retry --failed; resend',
  { timeout: 120000 }, async (t) => {
    const wd = await makeWorkdir('laporctl_commands');
    await wd.run(async () => {
      const { sim, api, daemon, configPath, dbPath } = await startStack(wd, {
        config: {
          upstream: {
            concurrency: 1, retry_min: '100ms', retry_max: '500ms', timeout: '2s',
            give_up_after: `${k_give_up_ms}ms`,
          },
        },
      });
      const boundAt = Date.now();
      const ok = '6281377710001';
      const rejected = '6281377710002';
      const gaveUp = '6281377710003';
      const helpee = '6281377710004';
      const texts = {
        [ok]: 'trotoar di depan sekolah dasar negeri 3 ambles',
        [rejected]: 'sampah menumpuk di pinggir sungai dekat jembatan',
        [gaveUp]: 'antrian puskesmas kelurahan melati terlalu lama',
      };

      // One forwarded.
      const refOk = await fileReportAndGetRef(sim, ok, texts[ok], { daemon });
      await waitForReplies(sim, ok, 'forwarded', { daemon });
      // One failed by give_up_after, the API answering 503 meanwhile. While it
      // waits, status says so: pending, retrying, degraded (exit 1), its age.
      api.setMode('unavailable');
      const gaveUpSentAt = Date.now();
      const refGaveUp = await fileReportAndGetRef(sim, gaveUp, texts[gaveUp], { daemon });
      const waiting = await waitFor(async () => {
        const s = await laporctl(configPath, ['--json', 'status']);
        return s.json.queues.oldest_unforwarded_age_s >= 1 ? s : null;
      }, { daemon, timeoutMs: k_give_up_ms, what: `status to show ${refGaveUp} waiting for a second or more` });
      t.diagnostic(`while waiting: exit ${waiting.code}, queues ${JSON.stringify(waiting.json.queues)}, ` +
        `upstream ${JSON.stringify(waiting.json.upstream)}`);
      assert.equal(waiting.code, 1, 'upstream retrying: degraded (exit 1)');
      assert.ok(['retrying', 'circuit_open'].includes(waiting.json.upstream.state), waiting.json.upstream.state);
      assert.match(waiting.json.upstream.last_error ?? '', /503/, 'the last error is the 503');
      assert.equal(waiting.json.queues.upstream_pending, 1);
      assert.equal(waiting.json.queues.upstream_failed, 0);
      assert.ok(waiting.json.queues.oldest_unforwarded_age_s <= Math.ceil((Date.now() - gaveUpSentAt) / 1000),
        `age ${waiting.json.queues.oldest_unforwarded_age_s} s is no older than the MO`);
      await waitForReplies(sim, gaveUp, 'failed', { daemon, timeoutMs: k_give_up_ms + 15000 });
      // One rejected for good (HTTP 400).
      api.setMode('bad-request', { count: 1 });
      const refRejected = await fileReportAndGetRef(sim, rejected, texts[rejected], { daemon });
      await waitForReplies(sim, rejected, 'failed', { daemon, timeoutMs: 15000 });
      // A help request: a reply, no report.
      assert.equal((await sim.sendMo({ from: helpee, text: 'INFO' })).status, 0);
      await waitForReplies(sim, helpee, 'help', { daemon });
      // Time for anything still under way (another attempt, a reply) to show up.
      await sleep(1000);

      // --- status against the peers' own counts ---
      const accepted = sim.submits.filter((s) => s.status === 0);
      const deliverOk = sim.deliverResponses.filter((r) => r.status === 0);
      const reportPosts = api.requests.filter((r) => r.method === 'POST');
      const n503 = reportPosts.filter((r) => r.status === 503).length;
      t.diagnostic(`peers: ${deliverOk.length} deliver_sm ok, ${accepted.length} submit_sm accepted, ` +
        `${api.posts.length} posts taken, ${reportPosts.length} POSTs (${n503} answered 503)`);
      assert.equal(deliverOk.length, 4, 'the simulator had 4 MO acknowledged');
      assert.equal(accepted.length, 7, 'received ×3, forwarded, failed ×2, help');
      assert.equal(api.posts.length, 1);
      assert.ok(n503 >= 1, 'the API refused the third report at least once');

      const statusResult = await laporctl(configPath, ['--json', 'status']);
      const status = statusResult.json;
      t.diagnostic(`status: ${JSON.stringify(status)}`);
      assert.equal(statusResult.code, 2, 'failed reports make status critical (exit 2)');
      assert.equal(status.daemon, 'running');
      assert.equal(status.links.length, 1);
      const [link] = status.links;
      assert.equal(link.name, 'sim');
      assert.equal(link.state, 'bound');
      assert.equal(link.bind, 'transceiver');
      assert.equal(link.window_in_use, 0, 'nothing awaits a submit_sm_resp');
      assert.equal(link.last_error, null);
      assert.match(link.since, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/, 'since is RFC 3339');
      const bindTime = sim.bindAttempts.find((a) => a.ok).time;
      const since = Date.parse(link.since);
      assert.ok(since >= bindTime - 2000 && since <= boundAt + 1000,
        `bound since ${link.since}, the simulator saw the bind at ${new Date(bindTime).toISOString()}`);
      assert.equal(link.mo_received, deliverOk.length, 'MO counted = deliver_sm the simulator had acknowledged');
      assert.equal(link.mt_submitted, accepted.length, 'MT counted = submit_sm the simulator accepted');
      assert.equal(link.reconnects, 0);

      assert.deepEqual(status.queues, {
        ...status.queues,
        upstream_pending: 0,
        upstream_failed: 2,
        outbound_pending: 0,
        oldest_unforwarded_age_s: 0,
        inbound_today: deliverOk.length,
      }, 'queues: two failed, nothing pending, four SMS in today');
      assert.equal(status.throughput.inbound_last_minute, deliverOk.length, 'four SMS in the last minute');

      assert.equal(status.upstream.delivered, api.posts.length, 'delivered = posts the API double took');
      assert.equal(status.upstream.rejected, 2, 'rejected: the 400 and the give-up');
      assert.equal(status.upstream.in_flight, 0);
      assert.equal(status.upstream.auth_errors, 0);
      // Every POST got one outcome; the give-up is either the last 503 or a give-up with no request.
      assert.ok(status.upstream.temporary_failures === n503 || status.upstream.temporary_failures === n503 - 1,
        `temporary failures ${status.upstream.temporary_failures} for ${n503} answers 503`);
      assert.notEqual(status.upstream.state, 'auth_error');

      // --- reports --state / --since / --limit ---
      const listed = async (...args) => {
        const result = await laporctl(configPath, ['--json', 'reports', ...args]);
        assert.equal(result.code, 0, `reports ${args.join(' ')}: ${result.stderr}`);
        return result.json.map((r) => r.ref);
      };
      assert.deepEqual(await listed(), [refRejected, refGaveUp, refOk], 'all three, newest first');
      assert.deepEqual(await listed('--state', 'failed'), [refRejected, refGaveUp]);
      assert.deepEqual(await listed('--state', 'forwarded'), [refOk]);
      assert.deepEqual(await listed('--state', 'received'), []);
      assert.deepEqual(await listed('--limit', '1'), [refRejected]);
      assert.deepEqual(await listed('--state', 'failed', '--limit', '1'), [refRejected]);
      assert.deepEqual(await listed('--since', localDate(0)), [refRejected, refGaveUp, refOk]);
      assert.deepEqual(await listed('--since', localDate(1)), [], 'nothing from tomorrow on');
      // The forwarded report as if it came three days ago.
      const threeDaysAgo = new Date();
      threeDaysAgo.setDate(threeDaysAgo.getDate() - 3);
      threeDaysAgo.setHours(12, 0, 0, 0);
      execFileSync('sqlite3', [dbPath, `UPDATE reports SET received_at = ${threeDaysAgo.getTime()} WHERE ref = '${refOk}'`]);
      assert.deepEqual(await listed('--since', localDate(0)), [refRejected, refGaveUp], '--since today leaves it out');
      assert.deepEqual(await listed('--since', localDate(-2)), [refRejected, refGaveUp]);
      assert.deepEqual(await listed('--since', localDate(-3)), [refRejected, refGaveUp, refOk], 'from its day on');
      assert.deepEqual(await listed('--state', 'forwarded', '--since', localDate(0)), []);
      assert.deepEqual(await listed('--state', 'forwarded', '--since', localDate(-3)), [refOk]);
      assert.deepEqual(await listed('--state', 'failed', '--since', localDate(-3)), [refRejected, refGaveUp]);
      for (const r of (await laporctl(configPath, ['--json', 'reports'])).json) {
        assert.match(r.ref, new RegExp(`^${k_ref_pattern}$`));
        assert.ok(!Number.isNaN(Date.parse(r.received_at)), `received_at ${r.received_at} is a date`);
      }

      // --- retry --failed ---
      api.setMode('ok');
      const postsBefore = api.posts.length;
      const retry = await laporctl(configPath, ['--json', 'retry', '--failed']);
      assert.equal(retry.code, 0, `retry --failed: ${retry.stdout} ${retry.stderr}`);
      assert.equal(retry.json.ok, true);
      assert.equal(retry.json.requeued, 2, 'both failed reports requeued');
      await api.waitForPosts(postsBefore + 2, { timeoutMs: 15000 });
      for (const [number, ref] of [[gaveUp, refGaveUp], [rejected, refRejected]]) {
        const [forwarded] = await waitForReplies(sim, number, 'forwarded', { daemon });
        const post = api.posts.find((p) => p.telpon === number);
        assert.equal(post.isi, texts[number]);
        assert.equal(forwarded.text, fillTemplate('forwarded', { ref, tracking_id: post.trackingId }));
      }
      await sleep(1000);
      assert.equal(api.posts.length, 3, 'each report taken once');
      for (const number of [gaveUp, rejected]) {
        assert.equal(api.posts.filter((p) => p.telpon === number).length, 1, `${number} filed once`);
        assert.equal(repliesOf(sim, number, 'failed').length, 1, `${number}: one failed reply in all`);
        assert.equal(repliesOf(sim, number, 'forwarded').length, 1, `${number}: one forwarded reply`);
      }
      assert.deepEqual(await listed('--state', 'failed'), []);
      assert.deepEqual(await listed('--state', 'forwarded'), [refRejected, refGaveUp, refOk]);
      const again = await laporctl(configPath, ['--json', 'retry', '--failed']);
      assert.equal(again.code, 0);
      assert.equal(again.json.requeued, 0, 'nothing left to requeue');

      const healthy = await waitFor(async () => {
        const s = await laporctl(configPath, ['--json', 'status']);
        return s.code === 0 ? s : null;
      }, { daemon, timeoutMs: 10000, what: 'status healthy after the retry' });
      const after = healthy.json;
      const acceptedAfter = sim.submits.filter((s) => s.status === 0).length;
      assert.equal(after.upstream.state, 'ok');
      assert.equal(after.upstream.last_error, null);
      assert.equal(after.upstream.delivered, api.posts.length, 'delivered = posts the API double took');
      assert.equal(after.queues.upstream_failed, 0);
      assert.equal(after.queues.upstream_pending, 0);
      assert.equal(after.queues.outbound_pending, 0);
      assert.equal(after.links[0].mt_submitted, acceptedAfter, 'MT counted = submit_sm accepted');
      assert.equal(acceptedAfter, 9, 'two forwarded replies more');

      // --- resend ---
      const resent = fillTemplate('forwarded', { ref: refOk, tracking_id: api.posts[0].trackingId });
      const copies = () => sim.messagesTo(ok).filter((m) => m.text === resent).length;
      assert.equal(copies(), 1);
      const resend = await laporctl(configPath, ['resend', refOk.toLowerCase()]);
      assert.equal(resend.code, 0, `resend ${refOk}: ${resend.stdout} ${resend.stderr}`);
      await waitFor(() => copies() === 2, { daemon, timeoutMs: 10000, what: `a second copy of ${refOk}'s last reply` });
      await sleep(1500);
      assert.equal(copies(), 2, 'the last reply sent exactly once more');
      assert.equal(sim.messagesTo(ok).length, 3, 'received, forwarded, forwarded again');
      const detail = await ctlReport(configPath, refOk);
      assert.deepEqual(detail.replies.map((r) => r.kind), ['received', 'forwarded', 'forwarded']);
      // By tracking id, with --json after the command.
      const byTracking = await laporctl(configPath, ['resend', `#${api.posts[0].trackingId}`, '--json']);
      assert.equal(byTracking.code, 0, `resend by tracking id: ${byTracking.stderr}`);
      assert.equal(byTracking.json.ok, true);
      await waitFor(() => copies() === 3, { daemon, timeoutMs: 10000, what: 'a third copy' });
      // A ref nobody has: an error, nothing sent.
      const submitsNow = sim.submits.length;
      const unknown = await laporctl(configPath, ['resend', 'MTR2222222']);
      assert.notEqual(unknown.code, 0, 'resend of an unknown ref fails');
      assert.match(unknown.stderr, /MTR2222222/, `it says which: ${unknown.stderr}`);
      await sleep(1000);
      assert.equal(sim.submits.length, submitsNow, 'nothing sent for it');
      assert.equal(copies(), 3);

      const last = await laporctl(configPath, ['--json', 'status']);
      assert.equal(last.json.links[0].mt_submitted, sim.submits.filter((s) => s.status === 0).length);
      assert.equal(last.json.links[0].mo_received, sim.deliverResponses.filter((r) => r.status === 0).length);

      assert.deepEqual(await daemon.stop({ timeoutMs: 20000 }), { code: 0, signal: null });
    });
  });
