// The upstream circuit breaker (src/relay/forwarder.cpp) and give_up_after,
// pinned to exact numbers and orders, which upstream_outage and
// upstream_down_then_up leave loose ("retrying or circuit_open"):
//
//  1. With the API answering 503 and more reports queued than the threshold,
//     exactly circuit_threshold (5) failed POSTs go out back to back, then the
//     circuit opens (`laporctl --json status` says circuit_open) and only one
//     request, a probe for the oldest report, goes out per backoff period:
//     never sooner than retry_min after the last answer, never much later than
//     retry_max.
//  2. When the API answers again the probe closes the circuit and the backlog
//     goes oldest first: the accepted posts come in the order the MOs were
//     acknowledged, each once; the state is ok again.
//  3. give_up_after end to end: the report becomes failed at the first attempt
//     past give_up_after, the citizen gets the `failed` reply once, `laporctl
//     status` exits 2, and no POST for it follows.
//  4. A 401 met by the half-open probe keeps the backoff: the breaker does not
//     turn into a loop of requests with no wait between them.
//
// `[upstream] concurrency = 1` makes the request order at the API exact.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { fillTemplate, laporctl, makeWorkdir, sleep, startStack, waitFor } from './harness.mjs';
import { ctlReport, ctlStatus, fileReport, gaps, repliesOf, waitForReplies } from './upstream_util.mjs';

const k_threshold = 5; // ForwarderOptions::circuit_threshold, not configurable
// Timing slack for clocks read at slightly different moments (ms).
const k_clock_slack_ms = 5;
// What a loaded machine may add on top of a backoff: the store write of the
// outcome, the claim, the connection (ms).
const k_late_margin_ms = 1000;

// Polls `laporctl --json status` until stop(); each sample has the time the
// call started and ended, so it can be placed against the API's timeline.
function watchStatus(configPath, { intervalMs = 150 } = {}) {
  const samples = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const start = Date.now();
      try {
        const { code, upstream } = await ctlStatus(configPath);
        samples.push({ start, end: Date.now(), code, state: upstream.state, lastError: upstream.last_error });
      } catch (error) {
        samples.push({ start, end: Date.now(), code: null, state: null, lastError: error.message });
      }
      await sleep(intervalMs);
    }
    return samples;
  })();
  return { samples, stop: async () => { stopped = true; return done; } };
}

// Runs `fn` as a subtest of `t`; remembers its name in `failures` when it
// fails, so the outer test can still stop the daemon and then fail with the log.
async function check(t, failures, name, fn) {
  let passed = false;
  await t.test(name, async (st) => {
    await fn(st);
    passed = true;
  });
  if (!passed) {
    failures.push(name);
  }
}

function postsOnly(api) {
  return api.requests.filter((r) => r.method === 'POST');
}

function describeRequests(list, origin) {
  return JSON.stringify(list.map((r) => ({
    at: r.arrivedAt - origin, answered: r.time - origin, status: r.status, telpon: r.telpon,
  })));
}

// --- 1 and 2: the breaker opens after 5, probes once per backoff, then the backlog goes in order ---

const k_reports = 8;
const k_failed_probes = 4;
const k_retry_min_ms = 800;
const k_retry_max_ms = 2000;

function msisdn(i) {
  return `62813500000${i}`;
}

function reportText(i) {
  return `saluran air tersumbat nomor ${i} di Jl. Diponegoro, banjir tiap hujan`;
}

test('the circuit opens after exactly 5 failures, probes once per backoff, and sends the backlog oldest first',
  { timeout: 90000 }, async (t) => {
    const wd = await makeWorkdir('upstream_breaker');
    await wd.run(async () => {
      const { sim, api, daemon, configPath } = await startStack(wd, {
        config: {
          upstream: {
            concurrency: 1, retry_min: `${k_retry_min_ms}ms`, retry_max: `${k_retry_max_ms}ms`, timeout: '2s',
          },
        },
      });
      api.setMode('unavailable');
      const origin = Date.now();
      const watcher = watchStatus(configPath);

      // All MOs back to back, so more jobs are due than the threshold: without
      // a breaker the 6th request would follow the 5th at once.
      const ackOrder = [];
      for (let i = 0; i < k_reports; i++) {
        await fileReport(sim, msisdn(i), reportText(i));
        ackOrder.push(msisdn(i));
      }

      // The 5 failures and k_failed_probes probes, then the API is back.
      await waitFor(() => postsOnly(api).length >= k_threshold + k_failed_probes, {
        timeoutMs: 30000, intervalMs: 20, daemon,
        what: () => `${k_threshold} failures and ${k_failed_probes} probes (requests so far: ` +
          `${describeRequests(postsOnly(api), origin)})`,
      });
      api.setMode('ok');
      const upAt = Date.now();
      const down = postsOnly(api).filter((r) => r.arrivedAt < upAt);

      await api.waitForPosts(k_reports, { timeoutMs: 30000 });
      for (let i = 0; i < k_reports; i++) {
        await waitForReplies(sim, msisdn(i), 'forwarded', { daemon, timeoutMs: 20000 });
      }
      // Time for a duplicate or a stray request to show up before counting.
      await sleep(1500);
      const samples = await watcher.stop();
      const up = postsOnly(api).filter((r) => r.arrivedAt >= upAt);
      t.diagnostic(`requests while down (ms from start): ${describeRequests(down, origin)}`);
      t.diagnostic(`requests after the API came back at ${upAt - origin} ms: ${describeRequests(up, origin)}`);
      t.diagnostic(`status samples: ${JSON.stringify(samples.map((s) => [s.start - origin, s.state, s.code]))}`);
      const opened = daemon.lines.find((l) => /circuit open/.test(l));
      t.diagnostic(`daemon: ${opened ?? 'no "circuit open" line logged'}`);

      const failures = [];
      await check(t, failures, `exactly ${k_threshold} back-to-back failed POSTs, then the circuit is open`, () => {
        assert.ok(down.every((r) => r.status === 503), `every request while down got the 503: ${describeRequests(down, origin)}`);
        assert.ok(down.length >= k_threshold + 1, `at least ${k_threshold + 1} requests while down, got ${down.length}`);
        const first = down.slice(0, k_threshold);
        // Circuit closed: each of the first 5 follows the answer to the one before at once.
        for (let i = 1; i < k_threshold; i++) {
          const wait = first[i].arrivedAt - first[i - 1].time;
          assert.ok(wait < k_retry_min_ms, `request ${i + 1} came ${wait} ms after the answer to request ${i}: ` +
            `the circuit must still be closed before ${k_threshold} failures (retry_min ${k_retry_min_ms} ms); ` +
            `requests: ${describeRequests(down, origin)}`);
        }
        // Open after the 5th: a quiet of at least retry_min, although 3 never-tried jobs are due.
        const quiet = down[k_threshold].arrivedAt - down[k_threshold - 1].time;
        assert.ok(quiet >= k_retry_min_ms - k_clock_slack_ms, `after ${k_threshold} failures the next request ` +
          `came ${quiet} ms after the last answer; an open circuit waits at least retry_min (${k_retry_min_ms} ms); ` +
          `requests: ${describeRequests(down, origin)}`);
        t.diagnostic(`the first ${k_threshold} requests were for ${JSON.stringify(first.map((r) => r.telpon))}`);

        // laporctl: circuit_open (degraded, exit 1) for as long as it is open, never before.
        const fifthAnswered = down[k_threshold - 1].time;
        const early = samples.filter((s) => s.end < fifthAnswered && s.state === 'circuit_open');
        assert.deepEqual(early.map((s) => s.start - origin), [],
          `laporctl showed circuit_open before the ${k_threshold}th failure was answered`);
        // A sample where laporctl itself could not run (state null) says nothing about the daemon.
        const unusable = samples.filter((s) => s.state === null);
        if (unusable.length) {
          t.diagnostic(`${unusable.length} status samples without a JSON document, ignored: ` +
            `${JSON.stringify(unusable.map((s) => [s.start - origin, s.lastError?.slice(0, 200)]))}`);
        }
        const whileOpen = samples.filter((s) => s.state !== null && s.start >= fifthAnswered + 300 && s.end <= upAt);
        assert.ok(whileOpen.length >= 3, `laporctl status was sampled while the circuit was open ` +
          `(${whileOpen.length} usable samples then, ${samples.length} in all)`);
        for (const s of whileOpen) {
          assert.equal(s.state, 'circuit_open', `laporctl --json status at ${s.start - origin} ms, while open: ` +
            `upstream.state ${s.state}`);
          assert.equal(s.code, 1, `laporctl status exits 1 (degraded) while the circuit is open, got ${s.code}`);
          assert.ok(s.lastError, 'upstream.last_error names the failure while open');
        }
      });

      await check(t, failures, 'while open: one probe per backoff period, for the oldest report', () => {
        assert.equal(down.length, k_threshold + k_failed_probes, `while down exactly ${k_threshold} failures and ` +
          `${k_failed_probes} probes reached the API, got ${down.length}: ${describeRequests(down, origin)}`);
        assert.ok(up.length >= 1 && up[0].status === 200, 'the first request after the API came back succeeded');
        const probes = [...down.slice(k_threshold), up[0]];
        for (const [i, probe] of probes.entries()) {
          assert.equal(probe.telpon, msisdn(0), `probe ${i + 1} is for the oldest report ${msisdn(0)}, ` +
            `got ${probe.telpon}`);
        }
        // From the 5th failure on: each request after the one before, at least
        // retry_min after its answer, at most retry_max (plus a margin) after it arrived.
        const chain = [down[k_threshold - 1], ...probes];
        const quiets = chain.slice(1).map((r, i) => r.arrivedAt - chain[i].time);
        const periods = gaps(chain.map((r) => r.arrivedAt));
        t.diagnostic(`waits before each probe (answer → next request): ${JSON.stringify(quiets)} ms; ` +
          `periods (request → request): ${JSON.stringify(periods)} ms`);
        for (const [i, quiet] of quiets.entries()) {
          assert.ok(quiet >= k_retry_min_ms - k_clock_slack_ms, `probe ${i + 1} came ${quiet} ms after the ` +
            `answer before it: shorter than retry_min ${k_retry_min_ms} ms`);
        }
        for (const [i, period] of periods.entries()) {
          assert.ok(period <= k_retry_max_ms + k_late_margin_ms, `probe ${i + 1} came ${period} ms after the ` +
            `request before it: longer than retry_max ${k_retry_max_ms} ms + ${k_late_margin_ms} ms`);
        }
      });

      await check(t, failures, 'once the API answers: the backlog oldest first, each report once, state ok', async () => {
        assert.equal(api.posts.length, k_reports, `each report accepted exactly once (${api.posts.length} accepted)`);
        assert.deepEqual(api.posts.map((p) => p.telpon), ackOrder,
          'the accepted posts come in the order the MOs were acknowledged');
        assert.deepEqual(api.posts.map((p) => p.isi), ackOrder.map((_, i) => reportText(i)),
          'the texts come in the order the MOs were acknowledged');
        assert.equal(up.length, k_reports, `after the API came back exactly ${k_reports} requests, one per report: ` +
          `${describeRequests(up, origin)}`);
        assert.ok(up.every((r) => r.status === 200), 'every request after the API came back succeeded');
        for (let i = 0; i < k_reports; i++) {
          const forwarded = repliesOf(sim, msisdn(i), 'forwarded');
          assert.equal(forwarded.length, 1, `${msisdn(i)} got one forwarded reply`);
          const post = api.posts.find((p) => p.telpon === msisdn(i));
          const { ref } = forwarded[0].groups;
          assert.equal(forwarded[0].text, fillTemplate('forwarded', { ref, tracking_id: post.trackingId }));
          const report = await ctlReport(configPath, ref);
          assert.equal(report.state, 'forwarded', `${ref} is forwarded`);
          assert.equal(report.tracking_id, post.trackingId);
        }
        const after = await ctlStatus(configPath);
        assert.equal(after.upstream.state, 'ok', 'upstream.state is ok again');
        assert.equal(after.upstream.last_error, null, 'no upstream error is left');
        assert.equal(after.json.queues.upstream_pending, 0, 'no upstream job is pending');
        assert.equal(after.code, 0, `laporctl status is healthy again: ${after.json && JSON.stringify(after.json)}`);
        const lastSample = samples.filter((s) => s.state !== null).at(-1);
        assert.equal(lastSample?.state, 'ok', 'the last status sample shows ok');
      });

      const exit = await daemon.stop({ timeoutMs: 20000 });
      assert.deepEqual(exit, { code: 0, signal: null }, 'laporsmsd exits 0 on SIGTERM');
      if (failures.length) {
        throw new Error(`failed: ${failures.join('; ')}`);
      }
    });
  });

// --- 3: give_up_after end to end ---

const k_give_up_ms = 3000;
const k_gu_retry_min_ms = 200;
const k_gu_retry_max_ms = 1000;

test('give_up_after: the report fails at the first attempt past it, the citizen is told once, nothing follows',
  { timeout: 60000 }, async (t) => {
    const wd = await makeWorkdir('upstream_breaker_give_up');
    await wd.run(async () => {
      const { sim, api, daemon, configPath } = await startStack(wd, {
        config: {
          upstream: {
            concurrency: 1, retry_min: `${k_gu_retry_min_ms}ms`, retry_max: `${k_gu_retry_max_ms}ms`,
            give_up_after: `${k_give_up_ms / 1000}s`, timeout: '2s',
          },
        },
      });
      api.setMode('unavailable');
      const number = '628135100001';
      const text = 'jembatan penyeberangan di depan pasar rusak, pegangan tangannya hilang';
      const sentAt = Date.now();
      await fileReport(sim, number, text);
      const ackAt = Date.now();
      const [received] = await waitForReplies(sim, number, 'received', { daemon });
      const { ref } = received.groups;

      const failedReport = await waitFor(async () => {
        const report = await ctlReport(configPath, ref);
        return report.state === 'failed' ? report : null;
      }, {
        timeoutMs: k_give_up_ms + k_gu_retry_max_ms + 15000, intervalMs: 200, daemon,
        what: () => `${ref} to be failed (${api.requests.length} requests so far)`,
      });
      const failedSeenAt = Date.now();
      await waitForReplies(sim, number, 'failed', { daemon, timeoutMs: 15000 });
      // Three retry_max periods: time for any further attempt or reply to show up.
      await sleep(3 * k_gu_retry_max_ms + 500);

      const requests = api.requestsFor({ telpon: number });
      const origin = sentAt;
      t.diagnostic(`POSTs (ms after the MO was sent): ${describeRequests(requests, origin)}; ` +
        `failed seen at ${failedSeenAt - origin} ms`);
      const report = await ctlReport(configPath, ref);
      t.diagnostic(`attempts recorded: ${JSON.stringify(report.attempts.map((a) => a.outcome))}`);

      const failures = [];
      await check(t, failures, 'the report gives up at the first attempt past give_up_after, and only then', () => {
        assert.equal(report.state, 'failed');
        assert.equal(report.upstream_job?.state, 'failed');
        assert.equal(report.tracking_id, null);
        assert.ok(requests.length >= 2, `retried before giving up (${requests.length} POSTs)`);
        assert.ok(requests.every((r) => r.status === 503), 'every POST met the outage');
        assert.equal(report.attempts.length, requests.length, 'one recorded attempt per POST');
        assert.deepEqual(report.attempts.map((a) => a.outcome),
          [...Array(requests.length - 1).fill('temporary'), 'gave_up'],
          'every attempt but the last was temporary, the last gave up');
        const last = requests.at(-1);
        for (const r of requests.slice(0, -1)) {
          assert.ok(r.time - ackAt < k_give_up_ms, `an attempt answered ${r.time - ackAt} ms after the MO was ` +
            'acknowledged must not have been the one to give up');
        }
        assert.ok(last.time - sentAt >= k_give_up_ms - 250, `the giving-up attempt was answered ` +
          `${last.time - sentAt} ms after the MO was sent; give_up_after is ${k_give_up_ms} ms`);
        assert.ok(last.arrivedAt - ackAt <= k_give_up_ms + k_gu_retry_max_ms + k_late_margin_ms,
          `the report gave up ${last.arrivedAt - ackAt} ms after it was stored: later than give_up_after + ` +
          `retry_max + ${k_late_margin_ms} ms`);
        assert.equal(failedReport.attempts.length, requests.length,
          'no POST for the report after it was failed');
        assert.deepEqual(postsOnly(api).filter((r) => r.arrivedAt > last.time).map((r) => r.arrivedAt - origin), [],
          'no POST at all after the report gave up');
      });

      await check(t, failures, 'the citizen gets the failed reply exactly once', () => {
        assert.deepEqual(sim.messagesTo(number).map((m) => m.text),
          [fillTemplate('received', { ref }), fillTemplate('failed', { ref })],
          'received, then failed, once each');
        const failedReplies = report.replies.filter((r) => r.kind === 'failed');
        assert.equal(failedReplies.length, 1, `one failed reply queued: ${JSON.stringify(report.replies)}`);
        assert.equal(failedReplies[0].text, fillTemplate('failed', { ref }));
      });

      await check(t, failures, 'laporctl shows the report failed and status exits 2', async () => {
        const reports = await laporctl(configPath, ['--json', 'reports']);
        assert.equal(reports.code, 0, `laporctl reports exits 0; stderr: ${reports.stderr}`);
        const listed = reports.json.find((r) => r.ref === ref);
        assert.equal(listed?.state, 'failed', `laporctl reports lists ${ref} as failed: ${JSON.stringify(listed)}`);
        const onlyFailed = await laporctl(configPath, ['--json', 'reports', '--state', 'failed']);
        assert.deepEqual(onlyFailed.json.map((r) => r.ref), [ref], 'reports --state failed lists exactly it');
        const plain = await laporctl(configPath, ['status']);
        assert.equal(plain.code, 2, `laporctl status exits 2 with a failed report; stdout: ${plain.stdout}`);
        const status = await ctlStatus(configPath);
        assert.equal(status.code, 2, 'laporctl --json status exits 2 too');
        assert.equal(status.json.queues.upstream_failed, 1, 'status counts one failed report');
        assert.equal(status.json.queues.upstream_pending, 0, 'nothing left pending');
        t.diagnostic(`upstream after giving up: ${JSON.stringify(status.upstream)}`);
      });

      const exit = await daemon.stop({ timeoutMs: 20000 });
      assert.deepEqual(exit, { code: 0, signal: null }, 'laporsmsd exits 0 on SIGTERM');
      if (failures.length) {
        throw new Error(`failed: ${failures.join('; ')}`);
      }
    });
  });

// --- 3b: give_up_after behind an open circuit ---

const k_behind_reports = 12;

test('behind an open circuit every report fails at give_up_after, not one per probe', { timeout: 60000 }, async (t) => {
  const wd = await makeWorkdir('upstream_breaker_give_up_behind');
  await wd.run(async () => {
    const { sim, api, daemon, configPath } = await startStack(wd, {
      config: {
        upstream: {
          concurrency: 1, retry_min: `${k_gu_retry_min_ms}ms`, retry_max: `${k_gu_retry_max_ms}ms`,
          give_up_after: `${k_give_up_ms / 1000}s`, timeout: '2s',
        },
      },
    });
    api.setMode('unavailable');
    const numbers = [...Array(k_behind_reports).keys()].map((i) => `62813520${String(i).padStart(4, '0')}`);
    const ackAt = Date.now();
    for (const [i, number] of numbers.entries()) {
      await fileReport(sim, number, `lampu penerangan jalan nomor ${i} mati sejak minggu lalu, gelap sekali`);
    }
    const lastAckAt = Date.now();
    // One probe per retry_max at most: tried one by one, the last report
    // would fail about k_behind_reports probes after give_up_after.
    const deadline = k_give_up_ms + (lastAckAt - ackAt) + k_gu_retry_max_ms + k_late_margin_ms;
    let failedCount = 0;
    await waitFor(() => {
      failedCount = numbers.filter((n) => repliesOf(sim, n, 'failed').length === 1).length;
      return failedCount === numbers.length;
    }, {
      timeoutMs: deadline + 15000, intervalMs: 100, daemon,
      what: () => `${numbers.length} failed replies (${failedCount} so far)`,
    });
    const lastFailedAt = Math.max(...numbers.map((n) => repliesOf(sim, n, 'failed')[0].time));
    t.diagnostic(`all ${numbers.length} failed ${lastFailedAt - ackAt} ms after the first was stored; ` +
      `${postsOnly(api).length} POSTs`);
    assert.ok(lastFailedAt - ackAt <= deadline,
      `the last report failed ${lastFailedAt - ackAt} ms after the first was stored (at most ${deadline} ms)`);
    assert.ok(postsOnly(api).length < numbers.length + k_threshold,
      `reports behind the open circuit failed without a POST each (${postsOnly(api).length} POSTs)`);
    await sleep(2 * k_gu_retry_max_ms);
    for (const number of numbers) {
      assert.equal(repliesOf(sim, number, 'failed').length, 1, `${number} is told once`);
    }
    const status = await ctlStatus(configPath);
    assert.equal(status.json.queues.upstream_failed, numbers.length);
    assert.equal(status.json.queues.upstream_pending, 0);
    const exit = await daemon.stop({ timeoutMs: 20000 });
    assert.deepEqual(exit, { code: 0, signal: null }, 'laporsmsd exits 0 on SIGTERM');
  });
});

// --- 4: a 401 answered to the half-open probe ---

const k_auth_reports = 6;
const k_auth_retry_min_ms = 300;
const k_auth_retry_max_ms = 1000;
const k_auth_watch_ms = 3000;

test('a 401 met by the half-open probe keeps the backoff: no requests back to back',
  { timeout: 60000 }, async (t) => {
    const wd = await makeWorkdir('upstream_breaker_auth');
    await wd.run(async () => {
      const { sim, api, daemon, configPath } = await startStack(wd, {
        config: {
          upstream: {
            concurrency: 1, retry_min: `${k_auth_retry_min_ms}ms`, retry_max: `${k_auth_retry_max_ms}ms`,
            timeout: '2s',
          },
        },
      });
      api.setMode('unavailable');
      const origin = Date.now();
      for (let i = 0; i < k_auth_reports; i++) {
        await fileReport(sim, `62813520000${i}`, `lampu lalu lintas mati di perempatan nomor ${i}`);
      }
      await waitFor(async () => (await ctlStatus(configPath)).upstream.state === 'circuit_open', {
        timeoutMs: 15000, intervalMs: 50, daemon, what: 'the circuit to open',
      });
      // The token was rotated during the outage: the API now answers 401.
      api.setMode('unauthorized');
      const authAt = Date.now();
      await sleep(k_auth_watch_ms);
      const status = await ctlStatus(configPath);
      // Stop the storm (if any) before counting, then count what came in the window.
      api.setMode('unavailable');
      const during = postsOnly(api).filter((r) => r.arrivedAt >= authAt && r.arrivedAt < authAt + k_auth_watch_ms);
      t.diagnostic(`${during.length} requests in the ${k_auth_watch_ms} ms after the API began to answer 401; ` +
        `first ones: ${describeRequests(during.slice(0, 12), origin)}`);

      const failures = [];
      await check(t, failures, 'the 401 reached the probe; laporctl shows auth_error', () => {
        assert.ok(during.length >= 1, 'the probe met the 401');
        assert.ok(during.every((r) => r.status === 401), 'every request in the window got the 401');
        assert.equal(status.upstream.state, 'auth_error', 'laporctl --json status shows upstream.state auth_error');
      });

      await check(t, failures, 'after a 401 the requests stay bounded by the backoff', () => {
        // Generous: even with every report tried at retry_min, no more than this.
        const bound = k_auth_reports * (Math.floor(k_auth_watch_ms / k_auth_retry_min_ms) + 1);
        assert.ok(during.length <= bound, `${during.length} requests in ${k_auth_watch_ms} ms after the API ` +
          `began to answer 401; at most ${bound} with retry_min ${k_auth_retry_min_ms} ms and ${k_auth_reports} reports`);
      });

      await check(t, failures, 'after a 401 no report is retried sooner than retry_min', () => {
        const byTelpon = new Map();
        for (const r of during) {
          byTelpon.set(r.telpon, [...(byTelpon.get(r.telpon) ?? []), r]);
        }
        for (const [telpon, list] of byTelpon) {
          const quiets = list.slice(1).map((r, i) => r.arrivedAt - list[i].time);
          const shortest = Math.min(...quiets);
          assert.ok(quiets.length === 0 || shortest >= k_auth_retry_min_ms - k_clock_slack_ms,
            `${telpon}: retried ${shortest} ms after a 401 (${list.length} attempts in ${k_auth_watch_ms} ms); ` +
            `retry_min is ${k_auth_retry_min_ms} ms, and an auth error is retried at retry_max ` +
            `(${k_auth_retry_max_ms} ms)`);
        }
      });

      const exit = await daemon.stop({ timeoutMs: 20000 });
      assert.deepEqual(exit, { code: 0, signal: null }, 'laporsmsd exits 0 on SIGTERM');
      if (failures.length) {
        throw new Error(`failed: ${failures.join('; ')}`);
      }
    });
  });
