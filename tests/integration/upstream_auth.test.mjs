// Issue 6: the API refuses our credentials (401). Reports are held, not
// failed: they stay received/forwarding, the citizen hears nothing more, the
// daemon asks again only every retry_max, and `laporctl status` shows
// upstream "auth_error" with exit code 2. The token never shows up in the
// daemon's log, in laporctl's output or in the stored errors, even though
// the API repeats it in its 401 body. Once the API accepts the token again,
// the held reports are forwarded within retry_max.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { fillTemplate, laporctl, makeWorkdir, sleep, startStack, waitFor } from './harness.mjs';
import {
  ctlReport, ctlStatus, fileReportAndGetRef, gaps, k_fast_upstream, logText, repliesOf, waitForReplies,
} from './upstream_util.mjs';

const k_retry_max_ms = 2000;
const k_token = 'Rahasia-UpstreamToken-7f3a9c1e';

function msisdn(i) {
  return `62813800000${i}`;
}

for (const adapter of ['lapor-xml', 'rest-json']) {
  test(`${adapter}: a 401 holds the reports, shows auth_error, and never logs the token`,
    { timeout: 60000 }, async (t) => {
      const wd = await makeWorkdir(`upstream_auth_${adapter}`);
      await wd.run(async () => {
        const { sim, api, daemon, configPath } = await startStack(wd, {
          api: { adapter, token: k_token },
          config: { upstream: { ...k_fast_upstream, adapter, retry_max: `${k_retry_max_ms}ms` } },
        });
        api.setMode('unauthorized', { echoToken: true });
        const refs = [];
        for (let i = 0; i < 2; i++) {
          refs.push(await fileReportAndGetRef(sim, msisdn(i), `lampu lalu lintas mati di perempatan ${i}`,
            { daemon }));
        }
        await waitFor(() => [0, 1].every((i) => api.requestsFor({ telpon: msisdn(i) }).some((r) => r.status === 401)),
          { timeoutMs: 10000, daemon, what: 'a 401 for each report' });

        const status = await ctlStatus(configPath);
        assert.equal(status.upstream.state, 'auth_error', `upstream state: ${JSON.stringify(status.upstream)}`);
        assert.equal(status.code, 2, 'laporctl status exits 2 (critical) on an auth error');
        assert.ok(status.upstream.last_error, 'the auth error is named');
        const plain = await laporctl(configPath, ['status']);
        assert.equal(plain.code, 2);
        assert.match(plain.stdout, /auth_error/, `laporctl status (text) shows the auth error:\n${plain.stdout}`);
        assert.ok(daemon.lines.some((l) => /credentials|upstream\.token/i.test(l) && refs.some((r) => l.includes(r))),
          'the daemon log says the API refused the credentials');

        // Held for longer than retry_max: asked again slowly, never failed.
        await sleep(2 * k_retry_max_ms + 500);
        assert.equal(api.posts.length, 0);
        for (let i = 0; i < 2; i++) {
          const requests = api.requestsFor({ telpon: msisdn(i) });
          assert.ok(requests.every((r) => r.status === 401));
          const waits = gaps(requests.map((r) => r.arrivedAt));
          t.diagnostic(`${msisdn(i)}: ${requests.length} attempts, waits ${JSON.stringify(waits)}`);
          assert.ok(requests.length >= 2, `${msisdn(i)} was asked again after retry_max (${requests.length} attempts)`);
          for (const wait of waits) {
            assert.ok(wait >= k_retry_max_ms - 50, `${msisdn(i)}: retried after ${wait} ms, before retry_max`);
          }
          const report = await ctlReport(configPath, refs[i]);
          assert.ok(['received', 'forwarding'].includes(report.state), `${refs[i]} is ${report.state}, not held`);
          assert.equal(report.tracking_id, null);
          assert.ok(report.attempts.length >= 2);
          assert.ok(report.attempts.every((a) => a.outcome === 'auth_error'),
            `attempts: ${JSON.stringify(report.attempts)}`);
          assert.deepEqual(sim.messagesTo(msisdn(i)).map((m) => m.text),
            [fillTemplate('received', { ref: refs[i] })], `${msisdn(i)} got only the received reply`);
        }
        const stillHeld = await ctlStatus(configPath);
        assert.equal(stillHeld.upstream.state, 'auth_error');
        assert.equal(stillHeld.json.queues.upstream_failed, 0, 'no report counts as failed');

        // The API takes the token again: forwarded within retry_max.
        api.setMode('ok');
        const fixedAt = Date.now();
        await api.waitForPosts(2, { timeoutMs: k_retry_max_ms + 5000 });
        t.diagnostic(`forwarded ${api.posts.at(-1).time - fixedAt} ms after the API accepted the token again`);
        for (let i = 0; i < 2; i++) {
          const [forwarded] = await waitForReplies(sim, msisdn(i), 'forwarded', { daemon });
          const post = api.posts.find((p) => p.telpon === msisdn(i));
          assert.equal(forwarded.text, fillTemplate('forwarded', { ref: refs[i], tracking_id: post.trackingId }));
        }
        await sleep(500);
        assert.equal(api.posts.length, 2, 'each report once');
        for (let i = 0; i < 2; i++) {
          assert.equal(repliesOf(sim, msisdn(i), 'failed').length, 0, 'no failed reply at any time');
          assert.equal(sim.messagesTo(msisdn(i)).length, 2);
        }
        const after = await ctlStatus(configPath);
        assert.equal(after.upstream.state, 'ok');
        assert.equal(after.code, 0, `healthy again: ${JSON.stringify(after.json.upstream)}`);

        // The token went to the API (so the test means something) and nowhere else.
        assert.ok(api.posts.every((p) => p.token === k_token));
        const outputs = [plain.stdout, plain.stderr, JSON.stringify(status.json)];
        for (const ref of refs) {
          const report = await laporctl(configPath, ['--json', 'report', ref]);
          outputs.push(report.stdout, report.stderr);
        }
        const messages = await laporctl(configPath, ['--json', 'messages', '--limit', '100']);
        outputs.push(messages.stdout);
        for (const output of outputs) {
          assert.ok(!output.includes(k_token), `laporctl output holds the token: ${output.slice(0, 300)}`);
        }
        const exit = await daemon.stop({ timeoutMs: 20000 });
        assert.deepEqual(exit, { code: 0, signal: null });
        const log = await logText(daemon);
        assert.ok(log.length > 0);
        const leaks = log.split('\n').filter((line) => line.includes(k_token));
        assert.deepEqual(leaks, [], 'the daemon log never holds the token');
      });
    });
}
