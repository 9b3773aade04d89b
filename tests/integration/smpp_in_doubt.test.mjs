// Issue 3: a submit_sm whose response never comes is not blindly resent (the
// SMSC may have taken it). The reply is marked unknown and looked for in a
// later delivery receipt: a receipt for the citizen's number settles it as
// sent; no receipt while a later reply to the same number is delivered means
// the SMSC never had it, and it goes out once more; with no receipts flowing
// at all it stays unknown for an operator.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { TakeWithoutAnswer } from '../peers/smsc-sim.mjs';
import { k_replies, laporctl, linesMatching, makeWorkdir, sleep, sqlite, startStack, waitFor } from './harness.mjs';

const k_took_it = '6281770000001';   // the SMSC keeps it; the response is lost
const k_lost_it = '6281770000002';   // the SMSC never had it
const k_bystander = '6281770000003'; // another citizen, answered as usual

const k_config = {
  smsc: { response_timeout: '1s', unknown_resend_after: '2s' },
};

// The first submit_sm to each number in `plan` gets the plan's answer;
// everything else is accepted.
function respondOnce(plan) {
  const seen = new Set();
  return (submit) => {
    if (plan.has(submit.destination) && !seen.has(submit.destination)) {
      seen.add(submit.destination);
      return plan.get(submit.destination);
    }
    return 0;
  };
}

// The help reply to `msisdn` (the one put in doubt) as the database holds it.
async function replyRow(dbPath, msisdn) {
  const rows = await sqlite(dbPath,
    `SELECT o.id, o.state, o.resends, o.last_error, group_concat(p.message_id) AS message_ids ` +
    `FROM outbound o LEFT JOIN outbound_parts p ON p.outbound_id = o.id ` +
    `WHERE o.msisdn = '${msisdn}' AND o.kind = 'help' GROUP BY o.id ORDER BY o.id`);
  assert.equal(rows.length, 1, `one help reply to ${msisdn}`);
  return rows[0];
}

test('a reply without submit_sm_resp: its receipt settles it, or it is sent once more', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('smpp_in_doubt');
  await wd.run(async () => {
    const { sim, daemon, dbPath, configPath } = await startStack(wd, { config: k_config });
    sim.receiptPolicy = () => ({ state: 'DELIVRD', form: 'text', delayMs: 0 });
    sim.submitResponder = respondOnce(new Map([[k_took_it, TakeWithoutAnswer], [k_lost_it, null]]));

    for (const from of [k_took_it, k_lost_it]) {
      assert.equal((await sim.sendMo({ from, text: 'INFO' })).status, 0);
    }
    // Both go unknown once response_timeout passes.
    await waitFor(async () => (await sqlite(dbPath,
      "SELECT count(*) AS n FROM outbound WHERE state = 'unknown'"))[0].n === 2,
    { timeoutMs: 10000, daemon, what: 'both replies in doubt' });
    // Another citizen's reply, delivered: proves nothing about these two.
    assert.equal((await sim.sendMo({ from: k_bystander, text: 'INFO' })).status, 0);
    await waitFor(() => sim.receipts.some((r) => r.destination === k_bystander && r.status === 0), {
      timeoutMs: 10000, daemon, what: 'the bystander\'s receipt',
    });
    await sleep(3000); // past unknown_resend_after: judged, and still in doubt
    assert.equal((await replyRow(dbPath, k_lost_it)).state, 'unknown');
    // A later reply to the same number, delivered: its receipts come back.
    assert.equal((await sim.sendMo({ from: k_lost_it, text: 'CEK MTRZZZZ' })).status, 0);

    await waitFor(async () => (await replyRow(dbPath, k_lost_it)).state === 'delivered', {
      timeoutMs: 20000, daemon, what: async () => `the lost reply resent and receipted: ${JSON.stringify(await replyRow(dbPath, k_lost_it))}`,
    });
    await waitFor(async () => (await replyRow(dbPath, k_took_it)).state === 'delivered', {
      timeoutMs: 20000, daemon, what: async () => `the kept reply settled by its receipt: ${JSON.stringify(await replyRow(dbPath, k_took_it))}`,
    });

    // What the simulator saw: the kept reply once; the lost one twice (the
    // first never taken), after the unknown_ref reply; the bystander's once.
    const submitsTo = (n) => sim.submits.filter((s) => s.destination === n);
    assert.equal(submitsTo(k_took_it).length, 1, 'the reply the SMSC kept was not sent again');
    assert.equal(submitsTo(k_lost_it).length, 3, 'the reply the SMSC never had was sent once more');
    assert.equal(submitsTo(k_lost_it)[0].status, null);
    for (const n of [k_took_it, k_bystander]) {
      assert.deepEqual(sim.messagesTo(n).map((m) => m.text), [k_replies.help], `${n} gets the help reply once`);
    }
    assert.deepEqual(sim.messagesTo(k_lost_it).map((m) => m.text),
      [k_replies.unknown_ref.replace('{ref}', 'MTRZZZZ'), k_replies.help],
      'the lost help reply arrives once, after the later one');

    // What the database holds.
    const took = await replyRow(dbPath, k_took_it);
    assert.equal(took.resends, 1, 'judged once: never looked at again');
    assert.equal(took.message_ids, submitsTo(k_took_it)[0].messageId, 'its part is the receipt\'s message id');
    assert.match(took.last_error, /receipt came/);
    const lost = await replyRow(dbPath, k_lost_it);
    assert.equal(lost.resends, 1);
    assert.equal(lost.message_ids, submitsTo(k_lost_it)[2].messageId);
    assert.equal(linesMatching(daemon, /a reply in doubt got its delivery receipt; not sent again .* receipt=delivered$/).length, 1);
    assert.equal(linesMatching(daemon, /a reply in doubt got no receipt while a later reply to the same number was delivered; sending it again link=/).length, 1);
    assert.equal(linesMatching(daemon, /6281770000001|6281770000002/).length, 0, 'numbers are masked in the log');

    const out = await laporctl(configPath, ['--json', 'messages', '--direction', 'out']);
    assert.deepEqual(out.json.map((m) => m.state), ['delivered', 'delivered', 'delivered', 'delivered']);
  });
});

test('with no receipts coming back at all, a reply in doubt stays unknown, never resent', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('smpp_in_doubt_no_receipts');
  await wd.run(async () => {
    const { sim, daemon, dbPath, configPath } = await startStack(wd, { config: k_config });
    sim.submitResponder = respondOnce(new Map([[k_lost_it, null]]));
    assert.equal((await sim.sendMo({ from: k_lost_it, text: 'INFO' })).status, 0);
    assert.equal((await sim.sendMo({ from: k_bystander, text: 'INFO' })).status, 0);
    await waitFor(async () => (await replyRow(dbPath, k_lost_it)).state === 'unknown', {
      timeoutMs: 10000, daemon, what: 'the reply in doubt',
    });
    // Several judging rounds (every second with unknown_resend_after 2s).
    await sleep(6000);
    assert.equal(sim.submits.filter((s) => s.destination === k_lost_it).length, 1, 'not resent');
    const row = await replyRow(dbPath, k_lost_it);
    assert.equal(row.state, 'unknown');
    assert.equal(row.resends, 0);
    const status = await laporctl(configPath, ['--json', 'status']);
    assert.equal(status.json.queues.replies_unknown, 1, 'laporctl status counts it for an operator');
    const messages = await laporctl(configPath, ['--json', 'messages', '--direction', 'out']);
    const inDoubt = messages.json.filter((m) => m.state === 'unknown');
    assert.equal(inDoubt.length, 1);
    assert.match(inDoubt[0].error ?? '', /no answer|response|timeout/i, `laporctl messages says why: ${inDoubt[0].error}`);
    const text = await laporctl(configPath, ['messages', '--direction', 'out']);
    assert.match(text.stdout, /\n    why: /, 'and so does its text form');
  });
});
