// ESME_RTHROTTLED: the SMSC refuses every submit_sm with 0x58 for 2 s. The
// link pauses and probes with one submit per pause, so after the first
// window the SMSC sees at most one refused submit per pause, not a window-full.
// Every reply still reaches its citizen exactly once, nothing is dropped or
// marked failed, the accepted submits of the throttled burst come at a lower
// rate than those of an unthrottled burst of the same size, and once the
// SMSC stops throttling the rate recovers.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Status } from '../peers/smsc-sim.mjs';
import { k_replies, laporctl, makeWorkdir, startStack, waitFor } from './harness.mjs';

const k_burst = 30;
const k_throttle_ms = 2000;
const k_window = 10; // the harness's default [[smsc]] window
// Pauses of 100, 200, 400, 800 ms (doubling) fit in 2 s, one probe each; a
// probe sent just before the end may add one.
const k_max_refused = k_window + 5;

function msisdn(phase, i) {
  return `6281700${phase}000${String(i).padStart(2, '0')}`;
}

// Sends INFO from k_burst citizens of `phase` at once and waits until each
// has its help reply; resolves {rate, first, last, submits} for the submits
// of this burst (rate: accepted submits per second from the burst's first
// submit_sm to its last accepted one).
async function burst({ sim, daemon, phase, timeoutMs }) {
  const numbers = Array.from({ length: k_burst }, (_, i) => msisdn(phase, i));
  const mine = new Set(numbers);
  const results = await Promise.all(numbers.map((from) => sim.sendMo({ from, text: 'INFO' })));
  assert.deepEqual(results.map((r) => r.status), new Array(k_burst).fill(0), `phase ${phase}: every MO acknowledged`);
  await waitFor(() => numbers.every((n) => sim.messagesTo(n).length >= 1), {
    timeoutMs, daemon,
    what: () => `phase ${phase}: a help reply to each of ${k_burst} citizens ` +
      `(${sim.submits.filter((s) => mine.has(s.destination) && s.status === 0).length} accepted, ` +
      `${sim.submits.filter((s) => mine.has(s.destination) && s.status === Status.ESME_RTHROTTLED).length} throttled)`,
  });
  const submits = sim.submits.filter((s) => mine.has(s.destination));
  const accepted = submits.filter((s) => s.status === 0);
  const first = submits[0].time;
  const last = Math.max(...accepted.map((s) => s.time));
  return { rate: accepted.length / (Math.max(1, last - first) / 1000), first, last, submits, numbers };
}

test('throttled submits are retried slower, delivered once each, and the rate recovers', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('smpp_throttle');
  await wd.run(async () => {
    const { sim, daemon, configPath } = await startStack(wd);

    const base = await burst({ sim, daemon, phase: 1, timeoutMs: 15000 });

    let throttleUntil = null;
    let throttledSoFar = 0;
    sim.submitResponder = () => {
      throttleUntil ??= Date.now() + k_throttle_ms;
      if (Date.now() < throttleUntil) {
        throttledSoFar += 1;
        return Status.ESME_RTHROTTLED;
      }
      return Status.ESME_ROK;
    };
    const throttled = await burst({ sim, daemon, phase: 2, timeoutMs: 35000 });
    assert.ok(throttledSoFar > k_window, `the SMSC throttled more than a window (${throttledSoFar})`);
    assert.ok(throttledSoFar <= k_max_refused,
      `at most one refused submit per pause after the first window: ${throttledSoFar} refused in ` +
      `${k_throttle_ms} ms (a window-full per pause would be about ${k_window * 5})`);
    sim.submitResponder = null;

    const after = await burst({ sim, daemon, phase: 3, timeoutMs: 15000 });

    const rates = `unthrottled ${base.rate.toFixed(1)}/s, throttled ${throttled.rate.toFixed(1)}/s, ` +
      `after ${after.rate.toFixed(1)}/s`;
    assert.ok(throttled.rate < base.rate, `the throttled burst is accepted at a lower rate (${rates})`);
    assert.ok(after.rate > throttled.rate && after.rate >= base.rate / 2,
      `the rate recovers once the SMSC stops throttling (${rates})`);

    const refused = throttled.submits.filter((s) => s.status === Status.ESME_RTHROTTLED);
    assert.equal(refused.length, throttledSoFar, 'the refused submits are the ones the SMSC throttled');

    // Exactly one help reply per citizen, none lost, none twice.
    for (const { numbers } of [base, throttled, after]) {
      for (const n of numbers) {
        assert.deepEqual(sim.messagesTo(n).map((m) => m.text), [k_replies.help], `${n} got one help reply`);
      }
    }
    const out = await laporctl(configPath, ['--json', 'messages', '--direction', 'out', '--limit', '1000']);
    assert.equal(out.json.length, 3 * k_burst);
    const states = out.json.reduce((acc, m) => ({ ...acc, [m.state]: (acc[m.state] ?? 0) + 1 }), {});
    assert.deepEqual(states, { submitted: 3 * k_burst }, 'every reply is submitted, none failed or in doubt');
    assert.deepEqual(sim.protocolErrors, []);

    const exit = await daemon.stop({ timeoutMs: 20000 });
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});
