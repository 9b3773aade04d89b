// Issue 3: a reply older than the link's reply_max_age is not sent at all.
// The SMSC throttles every submit_sm to citizen A (a temporary refusal: the
// reply goes back in the queue) until well after A's reply is older than
// reply_max_age, then accepts everything. A's reply ends 'expired' (last_error
// 'too old to send') and never reaches A, although the SMSC took every submit
// once the throttling ended; citizen B, writing afterwards, gets a help reply
// once, through the same link.
//
// The other half of that issue sentence (replies queued while the link is
// down go out after the rebind, oldest first, once each) is asserted by
// smpp_reconnect.test.mjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Status } from '../peers/smsc-sim.mjs';
import { k_replies, laporctl, linesMatching, makeWorkdir, sleep, sqlite, startStack, waitFor } from './harness.mjs';

const k_max_age_ms = 3000;
// Throttling of A's submits lasts this long after A's MO was acknowledged:
// past the reply's max age, with room for a claim made just before the reply
// turned too old and its submit_sm arriving a little later.
const k_throttle_ms = k_max_age_ms + 2000;

const k_citizen_a = '6281660000001'; // throttled until the reply is too old
const k_citizen_b = '6281660000002'; // writes later; the link works for it

const k_config = { smsc: { reply_max_age: `${k_max_age_ms / 1000}s` } };

async function replyRows(dbPath, msisdn) {
  return sqlite(dbPath,
    'SELECT id, kind, state, last_error, created_at, updated_at, submit_started_at ' +
    `FROM outbound WHERE msisdn = '${msisdn}' ORDER BY id`);
}

test('a reply still queued after reply_max_age is expired and never sent', { timeout: 60000 }, async (t) => {
  const wd = await makeWorkdir('smpp_reply_age');
  await wd.run(async () => {
    const { sim, daemon, dbPath, configPath } = await startStack(wd, { config: k_config });

    // A's submits are refused as throttled until `throttleUntil` (set once the
    // MO is acknowledged; the reply may be queued before that), then accepted.
    let throttleUntil = Infinity;
    sim.submitResponder = (submit) => (submit.destination === k_citizen_a && submit.time < throttleUntil
      ? Status.ESME_RTHROTTLED : Status.ESME_ROK);

    assert.equal((await sim.sendMo({ from: k_citizen_a, text: 'INFO' })).status, 0, 'A\'s MO acknowledged');
    const ackedAt = Date.now();
    throttleUntil = ackedAt + k_throttle_ms;

    // The outbox expires the reply the next time it looks at the queue after
    // the reply turned too old (its retry pause after throttling is 10 s at most).
    let rowsA = [];
    await waitFor(async () => {
      rowsA = await replyRows(dbPath, k_citizen_a);
      return rowsA.length === 1 && rowsA[0].state === 'expired';
    }, {
      timeoutMs: 20000, daemon,
      what: () => `A's reply to expire (rows ${JSON.stringify(rowsA)}; ` +
        `${sim.submits.filter((s) => s.destination === k_citizen_a).length} submits to A so far)`,
    });
    const [replyA] = rowsA;
    assert.equal(replyA.kind, 'help');
    assert.match(replyA.last_error ?? '', /too old/, 'the expired reply says why');
    assert.equal(linesMatching(daemon, /outbox: replies older than reply_max_age expired, not sent link=sim count=1 reply_max_age_ms=3000$/).length, 1,
      'the daemon logs the expiry once');
    assert.ok(replyA.created_at <= ackedAt, 'the reply was queued before A\'s MO was acknowledged');
    assert.ok(replyA.updated_at - replyA.created_at >= k_max_age_ms,
      `expired only once older than reply_max_age (after ${replyA.updated_at - replyA.created_at} ms)`);

    // The reply did try to leave: the SMSC saw it and throttled it, only before it expired.
    const submitsA = sim.submits.filter((s) => s.destination === k_citizen_a);
    t.diagnostic(`${submitsA.length} throttled submit_sm to A, at ` +
      `${submitsA.map((s) => s.time - replyA.created_at).join(', ')} ms; ` +
      `expired ${replyA.updated_at - replyA.created_at} ms after it was queued`);
    assert.ok(submitsA.length >= 1, 'A\'s reply was submitted while the SMSC throttled it');
    for (const s of submitsA) {
      assert.equal(s.status, Status.ESME_RTHROTTLED, `the submit_sm to A at ${s.time} was throttled`);
      assert.ok(s.time <= replyA.updated_at, `no submit_sm to A after the reply expired (one at ${s.time}, ` +
        `expired at ${replyA.updated_at})`);
    }

    // Once the SMSC takes everything, a later citizen gets the usual reply
    // through the same queue, in which A's reply stands first.
    await waitFor(() => Date.now() > throttleUntil, { timeoutMs: k_throttle_ms + 1000, what: 'the throttling to end' });
    assert.equal((await sim.sendMo({ from: k_citizen_b, text: 'INFO' })).status, 0, 'B\'s MO acknowledged');
    await waitFor(() => sim.messagesTo(k_citizen_b).length >= 1, {
      timeoutMs: 20000, daemon, what: () => `a help reply to B (${sim.submits.length} submits so far)`,
    });
    await sleep(1000); // a late submit_sm to A, or a second one to B, would show up by now

    const rowsB = await replyRows(dbPath, k_citizen_b);
    assert.equal(rowsB.length, 1, 'one reply to B');
    assert.equal(rowsB[0].state, 'submitted');
    assert.ok(rowsB[0].id > replyA.id, 'B\'s reply is later in the queue than A\'s');
    assert.deepEqual(sim.messagesTo(k_citizen_b).map((m) => m.text), [k_replies.help], 'B got its help reply once');
    const submitsB = sim.submits.filter((s) => s.destination === k_citizen_b);
    assert.equal(submitsB.length, 1, 'one submit_sm to B');
    assert.ok(submitsB[0].time > throttleUntil, 'B\'s reply went out while the SMSC accepted everything');

    // A never got the reply, though the SMSC would have taken it by then.
    assert.deepEqual(sim.messagesTo(k_citizen_a), [], 'A got no reply');
    assert.deepEqual(sim.submits.filter((s) => s.destination === k_citizen_a), submitsA,
      'no submit_sm to A after the reply expired');
    assert.equal((await replyRows(dbPath, k_citizen_a))[0].state, 'expired', 'A\'s reply stays expired');

    // What an operator sees.
    const out = (await laporctl(configPath, ['--json', 'messages', '--direction', 'out', '--limit', '100'])).json;
    const outA = out.filter((m) => m.msisdn === k_citizen_a);
    const outB = out.filter((m) => m.msisdn === k_citizen_b);
    assert.deepEqual(outA.map((m) => [m.direction, m.state, m.text]), [['out', 'expired', k_replies.help]]);
    assert.deepEqual(outB.map((m) => [m.direction, m.state, m.text]), [['out', 'submitted', k_replies.help]]);
    assert.equal(out.length, 2, 'no other replies');
    const status = await laporctl(configPath, ['--json', 'status']);
    assert.equal(status.json.queues.outbound_pending, 0, 'an expired reply is not pending');
    assert.equal(status.json.links[0].state, 'bound');
    assert.deepEqual(sim.protocolErrors, []);

    const exit = await daemon.stop({ timeoutMs: 20000 });
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});
