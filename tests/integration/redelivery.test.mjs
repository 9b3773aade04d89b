// SMSC redeliveries (issue 5): an SMSC that did not get our deliver_sm_resp
// delivers the same MO again -- renumbered or byte for byte, while the first
// is still in flight or long after it was acknowledged, even across a daemon
// crash. Each redelivery is answered ESME_ROK and stored nowhere: one report,
// one post upstream, one pair of replies. A citizen's second, different
// report, and the same words from another number, are new reports.
//
// Upstream is lapor-xml on purpose: it has no idempotency key, so a report
// filed twice would show as two posts.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { encodeGsm, encodeUcs2 } from '../peers/smsc-sim.mjs';
import { makeWorkdir, sleep, startStack, templateRegex, waitFor } from './harness.mjs';
import {
  deliverSmFrame, killDaemon, listReports, query, repeatedSubmits, restartDaemon,
} from './durability_util.mjs';

const k_citizen_a = '6281211110001';
const k_citizen_b = '6281211110002';
const k_citizen_c = '6281211110003';
const k_citizen_d = '6281211110004';
const k_citizen_e = '6281211110005';

const k_text_a1 = 'sampah menumpuk di Jl. Kenanga 12 sejak seminggu, bau sekali';
const k_text_a2 = 'lampu penerangan jalan di depan SDN 3 padam, rawan kecelakaan';
const k_text_b = 'saluran air tersumbat di Gg. Melati, banjir setiap hujan';
const k_text_c = 'pungutan liar di loket Samsat 🙏 mohon ditindak, Rp 50.000 tanpa kuitansi';
const k_text_e = 'trotoar rusak di Jl. Diponegoro 45, pejalan kaki terpaksa turun ke jalan';

// Waits until the daemon has sent `count` responses with `sequence` on `sessionIndex`.
function waitForResponses(sim, sessionIndex, sequence, count) {
  return waitFor(() => {
    const found = sim.responses.filter((r) => r.sessionIndex === sessionIndex && r.sequence === sequence);
    return found.length >= count ? found : null;
  }, { timeoutMs: 10000, what: `${count} response(s) to raw deliver_sm #${sequence}` });
}

test('redelivered MO are acknowledged and stored once', { timeout: 120000 }, async () => {
  const wd = await makeWorkdir('redelivery');
  await wd.run(async () => {
    const stack = await startStack(wd);
    const { sim, api, configPath, dbPath } = stack;
    let daemon = stack.daemon;
    const redeliveryStatuses = [];

    // A: the first delivery is a raw frame; the SMSC "lost" our response and
    // writes the very same bytes (same sequence number) again; later it
    // redelivers once more, renumbered, as the package numbers it.
    const sequence = 0x7f000001;
    const frameA1 = deliverSmFrame({
      sequence, from: k_citizen_a, dataCoding: 0, shortMessage: encodeGsm(`LAPORYAI ${k_text_a1}`),
    });
    const session = sim.sendRaw(frameA1);
    const [first] = await waitForResponses(sim, session, sequence, 1);
    assert.equal(first.command, 'deliver_sm_resp');
    assert.equal(first.status, 0, 'the first delivery is acknowledged');
    sim.sendRaw(frameA1, { sessionIndex: session });
    const both = await waitForResponses(sim, session, sequence, 2);
    redeliveryStatuses.push(both[1].status);
    redeliveryStatuses.push((await sim.sendMo({ from: k_citizen_a, text: `LAPORYAI ${k_text_a1}` })).status);

    // B: the SMSC gave up waiting and sent the MO again while the first was
    // still in flight: both arrive together (one group commit, maybe).
    const [b1, b2, b3] = await Promise.all([
      sim.sendMo({ from: k_citizen_b, text: `LAPORYAI ${k_text_b}` }),
      sim.sendMo({ from: k_citizen_b, text: `LAPORYAI ${k_text_b}` }),
      sim.sendMo({ from: k_citizen_b, text: `LAPORYAI ${k_text_b}` }),
    ]);
    assert.equal(b1.status, 0);
    redeliveryStatuses.push(b2.status, b3.status);

    // C: UCS-2 with an emoji, delivered four times.
    const ucs2 = encodeUcs2(`LAPORYAI ${k_text_c}`);
    assert.equal((await sim.sendMo({ from: k_citizen_c, dataCoding: 8, shortMessage: ucs2 })).status, 0);
    for (let i = 0; i < 3; i++) {
      redeliveryStatuses.push((await sim.sendMo({ from: k_citizen_c, dataCoding: 8, shortMessage: ucs2 })).status);
    }

    // A's second, different report is a new report; so are A's first words
    // sent by somebody else (D).
    assert.equal((await sim.sendMo({ from: k_citizen_a, text: `LAPORYAI ${k_text_a2}` })).status, 0,
      'a citizen\'s second report is acknowledged');
    assert.equal((await sim.sendMo({ from: k_citizen_d, text: `LAPORYAI ${k_text_a1}` })).status, 0,
      'the same words from another number are acknowledged');

    // The daemon dies; the SMSC still holds MO it has no response for and
    // delivers them once the daemon is back. E was never stored before; A's
    // first and C's are redeliveries of stored MO: the window lives in the
    // database, not in memory. The kill waits until forwarding and replies
    // are done: lapor-xml has no idempotency key, so a POST cut short by a
    // crash is legitimately sent again (crash_recovery covers that, on
    // rest-json), and a reply cut short is left unknown, not resent.
    await api.waitForPosts(5, { timeoutMs: 30000 });
    await waitFor(() => [[k_citizen_a, 4], [k_citizen_b, 2], [k_citizen_c, 2], [k_citizen_d, 2]]
      .every(([m, n]) => sim.messagesTo(m).length >= n), {
      timeoutMs: 30000, daemon, what: () => `the replies before the crash (${sim.submits.length} submit_sm so far)`,
    });
    await waitFor(async () => (await query(dbPath,
      "SELECT count(*) AS n FROM outbound WHERE state = 'queued'"))[0].n === 0, {
      timeoutMs: 10000, daemon, what: 'the outbound queue to be recorded empty',
    });
    await killDaemon(daemon, sim);
    daemon = await restartDaemon(wd, configPath, sim);
    redeliveryStatuses.push((await sim.sendMo({ from: k_citizen_a, text: `LAPORYAI ${k_text_a1}` })).status);
    assert.equal((await sim.sendMo({ from: k_citizen_e, text: `LAPORYAI ${k_text_e}` })).status, 0);
    redeliveryStatuses.push((await sim.sendMo({ from: k_citizen_e, text: `LAPORYAI ${k_text_e}` })).status);
    redeliveryStatuses.push((await sim.sendMo({ from: k_citizen_c, dataCoding: 8, shortMessage: ucs2 })).status);

    assert.deepEqual(redeliveryStatuses, new Array(redeliveryStatuses.length).fill(0),
      'every redelivery is answered ESME_ROK');
    assert.equal(redeliveryStatuses.length, 10);

    const expected = [
      [k_citizen_a, k_text_a1], [k_citizen_a, k_text_a2], [k_citizen_b, k_text_b], [k_citizen_c, k_text_c],
      [k_citizen_d, k_text_a1], [k_citizen_e, k_text_e],
    ];
    const key = (msisdn, text) => `${msisdn}|${text}`;
    const expectedKeys = expected.map(([m, t]) => key(m, t)).sort();

    // Upstream: each report exactly once. Let any stray second post show.
    await api.waitForPosts(expected.length, { timeoutMs: 30000 });
    await sleep(1500);
    assert.deepEqual(api.posts.map((p) => key(p.telpon, p.isi)).sort(), expectedKeys,
      'one post per report, with its exact text');

    const reports = await listReports(configPath);
    assert.deepEqual(reports.map((r) => key(r.msisdn, r.text)).sort(), expectedKeys,
      'one stored report per distinct MO');
    const inbound = await query(dbPath, "SELECT msisdn, text FROM inbound WHERE command = 'report' ORDER BY id");
    assert.equal(inbound.length, expected.length,
      `redeliveries are not stored as inbound SMS: ${JSON.stringify(inbound)}`);

    // Replies: received + forwarded per report, none sent twice.
    const receivedRe = templateRegex('received');
    const forwardedRe = templateRegex('forwarded');
    const replyCounts = new Map([[k_citizen_a, 4], [k_citizen_b, 2], [k_citizen_c, 2], [k_citizen_d, 2],
      [k_citizen_e, 2]]);
    await waitFor(() => [...replyCounts].every(([m, n]) => sim.messagesTo(m).length >= n), {
      timeoutMs: 30000, daemon, what: () => `the replies (${sim.submits.length} submit_sm so far)`,
    });
    await sleep(1000);
    for (const [msisdn, n] of replyCounts) {
      const texts = sim.messagesTo(msisdn).map((m) => m.text);
      assert.equal(texts.length, n, `${msisdn} got ${n} replies: ${JSON.stringify(texts)}`);
      assert.equal(texts.filter((t) => receivedRe.test(t)).length, n / 2, `${msisdn}: one received per report`);
      assert.equal(texts.filter((t) => forwardedRe.test(t)).length, n / 2, `${msisdn}: one forwarded per report`);
    }
    assert.deepEqual(repeatedSubmits(sim), [], 'no reply was sent twice');
    assert.ok(sim.deliverResponses.every((r) => r.status === 0), 'every deliver_sm_resp is ESME_ROK');
    assert.deepEqual(sim.protocolErrors, []);
    assert.deepEqual(sim.genericNacks, []);
  });
});

test('an identical MO after the link\'s redelivery horizon is a new report', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('redelivery_window');
  await wd.run(async () => {
    const { sim, api, configPath } = await startStack(wd, { config: { smsc: { redelivery_horizon: '2s' } } });
    const mo = { from: k_citizen_a, text: `LAPORYAI ${k_text_a1}` };
    assert.equal((await sim.sendMo(mo)).status, 0);
    assert.equal((await sim.sendMo(mo)).status, 0, 'a redelivery inside the horizon');
    await sleep(2600);
    assert.equal((await sim.sendMo(mo)).status, 0, 'the same MO after the horizon');
    await api.waitForPosts(2, { timeoutMs: 20000 });
    await sleep(1000);
    assert.equal(api.posts.length, 2, 'inside the horizon one report, after it a second');
    const reports = await listReports(configPath);
    assert.equal(reports.length, 2);
    assert.ok(reports.every((r) => r.text === k_text_a1 && r.msisdn === k_citizen_a));
  });
});
