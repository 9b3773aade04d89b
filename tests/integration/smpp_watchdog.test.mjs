// Dead-peer watchdog: with enquire_link_interval = 500ms, laporsmsd keeps an
// idle link alive with enquire_link; when the SMSC hangs (socket open, no
// PDU at all, enquire_link unanswered) the daemon drops the connection after
// 3 intervals of silence and binds again, and traffic flows on the new bind.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { k_replies, laporctl, makeWorkdir, sleep, startStack, waitFor } from './harness.mjs';

const k_interval_ms = 500;
// Watchdog tick granularity (one interval), reconnect_min (100ms), connect + bind on loopback.
const k_slack_ms = 1000;

test('a hung SMSC is detected within 3 enquire_link intervals and the link rebinds', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('smpp_watchdog');
  await wd.run(async () => {
    const { sim, daemon, configPath } = await startStack(wd, {
      config: { smsc: { enquire_link_interval: `${k_interval_ms}ms` } },
    });
    const first = await sim.waitForBind();

    // Traffic works on the first bind.
    assert.equal((await sim.sendMo({ from: '6281355500001', text: 'INFO' })).status, 0);
    await waitFor(() => sim.messagesTo('6281355500001').length === 1, {
      timeoutMs: 10000, daemon, what: 'the help reply on the first bind',
    });

    // Idle but healthy: enquire_link keeps it alive, and the watchdog stays quiet.
    const idleFrom = Date.now();
    await sleep(3000);
    const idleEnquiries = sim.enquireLinkRequests.filter((e) => e.sessionIndex === first.sessionIndex &&
      e.time >= idleFrom);
    assert.ok(idleEnquiries.length >= 2,
      `enquire_link sent while idle (${idleEnquiries.length} in 3 s at interval ${k_interval_ms} ms)`);
    assert.equal(sim.bindAttempts.length, 1, 'an SMSC that answers enquire_link is not reconnected');
    assert.equal(sim.sessionHistory.find((h) => h.sessionIndex === first.sessionIndex).closedAt, null);

    // The SMSC hangs.
    const silencedAt = Date.now();
    assert.deepEqual(sim.silence(), [first.sessionIndex]);
    const lastFromSmsc = sim.sessionHistory.find((h) => h.sessionIndex === first.sessionIndex).lastSentAt;

    const closed = await sim.waitForSessionClose(first.sessionIndex, { timeoutMs: 3 * k_interval_ms + 5000 });
    assert.equal(closed.closedBy, 'peer', 'laporsmsd closed the hung connection');
    const second = await sim.waitForBind({ count: 2, timeoutMs: 10000 });
    daemon.assertRunning('the watchdog reconnect');
    assert.notEqual(second.sessionIndex, first.sessionIndex, 'the new bind is on a new connection');
    assert.ok(closed.closedAt - lastFromSmsc >= 3 * k_interval_ms - 100,
      `not closed before 3 intervals of silence (${closed.closedAt - lastFromSmsc} ms after the last PDU)`);
    assert.ok(second.time - silencedAt <= 3 * k_interval_ms + k_slack_ms,
      `rebound ${second.time - silencedAt} ms after the SMSC went silent ` +
      `(limit 3 x ${k_interval_ms} ms + ${k_slack_ms} ms)`);
    const unanswered = sim.enquireLinkRequests.filter((e) => e.sessionIndex === first.sessionIndex && !e.answered);
    assert.ok(unanswered.length >= 1, 'the daemon probed the silent SMSC with enquire_link');

    // Traffic flows on the new bind.
    assert.equal((await sim.sendMo({ from: '6281355500002', text: 'INFO' })).status, 0);
    await waitFor(() => sim.messagesTo('6281355500002').length === 1, {
      timeoutMs: 10000, daemon, what: 'the help reply on the second bind',
    });
    assert.deepEqual(sim.messagesTo('6281355500002').map((m) => m.text), [k_replies.help]);
    assert.ok(sim.submits.filter((s) => s.destination === '6281355500002')
      .every((s) => s.sessionIndex === second.sessionIndex), 'the reply went out on the new bind');

    const status = await laporctl(configPath, ['--json', 'status']);
    assert.equal(status.json.links[0].state, 'bound');
    const exit = await daemon.stop({ timeoutMs: 20000 });
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});
