// Issue 6: the LAPOR! API is down (503, then 429) for a while and comes back.
// Every report reaches it exactly once and in the order the reports arrived;
// while it is down the daemon backs off (the gaps between the attempts for
// one report grow, none is shorter than retry_min) and `laporctl status` says
// so; once it is back the status is "ok" again. Scaled down: retry_min 100ms,
// retry_max 1s, an outage of 7 s instead of 2 minutes.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { fillTemplate, makeWorkdir, sleep, startStack } from './harness.mjs';
import {
  ctlReport, ctlStatus, fileReportAndGetRef, gaps, k_fast_upstream, repliesOf, waitForReplies, watchUpstreamState,
} from './upstream_util.mjs';

const k_reports = 5;
const k_retry_min_ms = 100;
const k_down_503_ms = 5000;
const k_down_429_ms = 2000;

function msisdn(i) {
  return `62813700000${i}`;
}

function reportText(i) {
  return `pohon tumbang nomor ${i} menutup Jl. Sudirman, mohon dibersihkan`;
}

test('an API down for a while gets every report once, in order of arrival, after backing off',
  { timeout: 90000 }, async (t) => {
    const wd = await makeWorkdir('upstream_down_then_up');
    await wd.run(async () => {
      const { sim, api, daemon, configPath } = await startStack(wd, {
        // One request at a time, so "in order of arrival" is a strict order at the API.
        config: { upstream: { ...k_fast_upstream, concurrency: 1 } },
      });
      api.setMode('unavailable');
      const downAt = Date.now();
      const watcher = watchUpstreamState(configPath);

      const refs = [];
      for (let i = 0; i < k_reports; i++) {
        refs.push(await fileReportAndGetRef(sim, msisdn(i), reportText(i), { daemon }));
      }

      await sleep(Math.max(0, downAt + k_down_503_ms - Date.now()));
      api.setMode('throttled', { retryAfter: 1 });
      await sleep(k_down_429_ms);

      // Still down: nothing taken, every attempt met the outage, the citizens
      // have only their `received` reply, and laporctl says the API is in trouble.
      assert.equal(api.posts.length, 0, 'no report was accepted while the API was down');
      const downRequests = api.requests.slice();
      assert.ok(downRequests.length > 0, 'the daemon tried while the API was down');
      for (const r of downRequests) {
        assert.ok(r.status === 503 || r.status === 429, `a request during the outage got ${r.status} (${r.reason})`);
      }
      assert.ok(downRequests.some((r) => r.status === 429), 'the daemon also met the 429 window');
      const during = await ctlStatus(configPath);
      assert.ok(['retrying', 'circuit_open'].includes(during.upstream.state),
        `upstream state while down: ${during.upstream.state}`);
      assert.notEqual(during.code, 0, 'laporctl status is not healthy while the API is down');
      assert.ok(during.upstream.last_error, 'laporctl status names the last upstream error');
      for (let i = 0; i < k_reports; i++) {
        assert.equal(sim.messagesTo(msisdn(i)).length, 1, `${msisdn(i)} has only the received reply so far`);
        const report = await ctlReport(configPath, refs[i]);
        assert.ok(['received', 'forwarding'].includes(report.state), `${refs[i]} is ${report.state} while down`);
        assert.equal(report.tracking_id, null);
      }

      // Backoff, as the API saw it: for each report, no two attempts closer
      // than retry_min, and the waits grow (the first wait is retry_min, the
      // later ones are drawn from a doubling range and the circuit breaker's probes).
      const perReport = [];
      for (let i = 0; i < k_reports; i++) {
        const times = downRequests.filter((r) => r.telpon === msisdn(i)).map((r) => r.arrivedAt);
        const waits = gaps(times);
        perReport.push({ number: msisdn(i), attempts: times.length, waits });
        for (const wait of waits) {
          assert.ok(wait >= k_retry_min_ms - 5, `${msisdn(i)}: a wait of ${wait} ms is shorter than retry_min ` +
            `(waits ${JSON.stringify(waits)})`);
        }
      }
      t.diagnostic(`attempts per report while down: ${JSON.stringify(perReport)}`);
      // The first report is tried first and most: its first wait is retry_min
      // (before the circuit opens), the later ones are drawn from a doubling
      // range and stretched by the circuit breaker's probes.
      const first = perReport[0];
      assert.ok(first.attempts >= 3, `the first report had ${first.attempts} attempts in ` +
        `${k_down_503_ms + k_down_429_ms} ms; expected at least 3`);
      const laterWaits = first.waits.slice(1);
      const laterMean = laterWaits.reduce((a, b) => a + b, 0) / laterWaits.length;
      assert.ok(laterMean >= 2 * first.waits[0], `${first.number}: the waits grow: first ${first.waits[0]} ms, ` +
        `mean of the later ones ${Math.round(laterMean)} ms (all: ${JSON.stringify(first.waits)})`);
      const totalRate = downRequests.length / ((k_down_503_ms + k_down_429_ms) / 1000);
      t.diagnostic(`${downRequests.length} requests during the outage (${totalRate.toFixed(1)}/s)`);

      // Back up.
      api.setMode('ok');
      const upAt = Date.now();
      await api.waitForPosts(k_reports, { timeoutMs: 20000 });
      for (let i = 0; i < k_reports; i++) {
        await waitForReplies(sim, msisdn(i), 'forwarded', { daemon });
      }
      t.diagnostic(`all ${k_reports} forwarded ${api.posts.at(-1).time - upAt} ms after the API came back`);
      // Give a duplicate time to show up before counting.
      await sleep(1500);
      const states = await watcher.stop();

      assert.equal(api.posts.length, k_reports, 'each report was accepted exactly once');
      for (let i = 0; i < k_reports; i++) {
        const posts = api.posts.filter((p) => p.telpon === msisdn(i));
        assert.equal(posts.length, 1, `one accepted post for ${msisdn(i)}`);
        const [post] = posts;
        assert.equal(post.isi, reportText(i));
        const forwarded = repliesOf(sim, msisdn(i), 'forwarded');
        assert.equal(forwarded.length, 1, `${msisdn(i)} got one forwarded reply`);
        assert.equal(forwarded[0].text, fillTemplate('forwarded', { ref: refs[i], tracking_id: post.trackingId }));
        assert.equal(sim.messagesTo(msisdn(i)).length, 2, `${msisdn(i)} got exactly received + forwarded`);
        const report = await ctlReport(configPath, refs[i]);
        assert.equal(report.state, 'forwarded');
        assert.equal(report.tracking_id, post.trackingId);
      }
      const upRequests = api.requests.filter((r) => r.arrivedAt >= upAt);
      assert.equal(upRequests.length, k_reports, `after the outage only the ${k_reports} successful posts ` +
        `reached the API (${JSON.stringify(upRequests.map((r) => r.status))})`);

      const seenDown = states.filter((s) => s.time < upAt).map((s) => s.state);
      t.diagnostic(`upstream states seen while down: ${JSON.stringify([...new Set(seenDown)])}`);
      assert.ok(seenDown.some((s) => s === 'retrying' || s === 'circuit_open'),
        `laporctl status showed retrying or circuit_open while down (saw ${JSON.stringify([...new Set(seenDown)])})`);
      const after = await ctlStatus(configPath);
      assert.equal(after.upstream.state, 'ok', 'upstream is ok once everything is forwarded');
      assert.equal(after.upstream.last_error, null, 'no upstream error is left once the API answers again');
      assert.equal(after.code, 0, `laporctl status is healthy again: ${JSON.stringify(after.json)}`);
      assert.equal(after.json.queues.upstream_pending, 0, 'no upstream job is pending');

      // Last, so that a wrong order does not hide the checks above.
      assert.deepEqual(api.posts.map((p) => p.telpon), refs.map((_, i) => msisdn(i)),
        'the API got the reports in the order they arrived');

      const exit = await daemon.stop({ timeoutMs: 20000 });
      assert.deepEqual(exit, { code: 0, signal: null }, 'laporsmsd exits 0 on SIGTERM');
    });
  });
