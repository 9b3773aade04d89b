// Delivery receipts (deliver_sm with esm_class 0x04) mark outbound SMS
// delivered or undeliverable, whether they carry receipted_message_id +
// message_state TLVs only, the text form `id:… stat:…` only, or both. A second case sends each receipt right behind its
// submit_sm_resp, as an SMSC does that knows the outcome at once.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { laporctl, makeWorkdir, startStack, waitFor } from './harness.mjs';

function msisdn(i) {
  return `62816000000${String(i).padStart(2, '0')}`;
}

// Sends a LAPORYAI from each of `count` citizens, waits for the 2 replies each
// (received, forwarded) and for a receipt to every accepted submit.
async function runTraffic({ sim, api, daemon, count }) {
  const results = await Promise.all(Array.from({ length: count }, (_, i) =>
    sim.sendMo({ from: msisdn(i), text: `LAPORYAI sampah menumpuk di pasar blok ${i} sudah seminggu` })));
  assert.deepEqual(results.map((r) => r.status), new Array(count).fill(0), 'every MO acknowledged');
  await api.waitForPosts(count, { timeoutMs: 30000 });
  // Whole replies only: the parts of a long reply and the next reply may
  // interleave, so two messages seen does not mean every part arrived.
  await waitFor(() => Array.from({ length: count }, (_, i) => sim.messagesTo(msisdn(i)).filter((m) => m.complete).length >= 2).every(Boolean), {
    timeoutMs: 30000, daemon, what: () => `2 replies to each citizen (${sim.submits.length} submits)`,
  });
  const accepted = sim.submits.filter((s) => s.status === 0);
  await waitFor(() => sim.receipts.filter((r) => r.status !== null || r.error).length >= accepted.length, {
    timeoutMs: 15000, daemon, what: () => `${accepted.length} receipts answered (${sim.receipts.length} sent)`,
  });
  for (const receipt of sim.receipts) {
    assert.equal(receipt.error, undefined, `receipt for ${receipt.messageId} reached the daemon`);
    assert.equal(receipt.status, 0, `receipt for ${receipt.messageId} acknowledged with ESME_ROK`);
  }
  for (const s of accepted) {
    assert.equal(s.registeredDelivery & 0x03, 1, 'replies ask for a delivery receipt');
  }
  return accepted;
}

// Waits until `laporctl messages --direction out` shows each reply in the
// state `expected(msisdn)`; resolves the list.
async function waitForOutboundStates({ configPath, daemon, count, expected }) {
  let last = null;
  try {
    return await waitFor(async () => {
      const out = await laporctl(configPath, ['--json', 'messages', '--direction', 'out', '--limit', '1000']);
      last = out.json;
      if (out.json.length !== 2 * count) {
        return null;
      }
      return out.json.every((m) => m.state === expected(m.msisdn)) ? out.json : null;
    }, { timeoutMs: 10000, intervalMs: 250, daemon, what: 'every reply in its receipted state' });
  } catch (error) {
    const shown = (last ?? []).map((m) => `${m.msisdn}:${m.state}`).join(' ');
    throw new Error(`${error.message}; laporctl messages --direction out: ${shown}`);
  }
}

test('receipts mark replies delivered or undeliverable, in TLV, text and combined form', { timeout: 60000 }, async () => {
  const count = 8;
  // Receipt forms by citizen: TLVs only, text only, both. Of the UNDELIV
  // numbers, 6 gets TLV-only receipts and 7 text-only ones.
  const forms = ['tlv', 'text', 'both'];
  const formOf = (number) => forms[Number(number.slice(-2)) % 3];
  const undeliverable = new Set([msisdn(6), msisdn(7)]);
  const wd = await makeWorkdir('smpp_receipts');
  await wd.run(async () => {
    const { sim, api, daemon, configPath } = await startStack(wd);
    sim.receiptPolicy = (submit) => ({
      state: undeliverable.has(submit.destination) ? 'UNDELIV' : 'DELIVRD',
      form: formOf(submit.destination),
      delayMs: 150,
    });
    const accepted = await runTraffic({ sim, api, daemon, count });
    assert.equal(accepted.length, 2 * count, 'one submit_sm per reply (each fits one SMS)');
    assert.deepEqual([...new Set(sim.receipts.map((r) => r.form))].sort(), ['both', 'text', 'tlv']);
    assert.deepEqual([...undeliverable].map(formOf), ['tlv', 'text']);

    const expected = (number) => (undeliverable.has(number) ? 'undeliverable' : 'delivered');
    const out = await waitForOutboundStates({ configPath, daemon, count, expected });
    for (let i = 0; i < count; i++) {
      const number = msisdn(i);
      const mine = out.filter((m) => m.msisdn === number);
      assert.equal(mine.length, 2, `2 replies to ${number}`);
      assert.ok(mine.every((m) => m.state === expected(number)), `${number}: ${mine.map((m) => m.state)}`);
      assert.ok(mine.every((m) => m.link === 'sim'));
    }

    // The report view agrees.
    const reports = await laporctl(configPath, ['--json', 'reports', '--limit', '100']);
    const undelivReport = reports.json.find((r) => r.msisdn === msisdn(7));
    const detail = await laporctl(configPath, ['--json', 'report', undelivReport.ref]);
    assert.equal(detail.code, 0, detail.stderr);
    assert.deepEqual(detail.json.replies.map((r) => r.state), ['undeliverable', 'undeliverable'],
      `replies of ${undelivReport.ref}: ${JSON.stringify(detail.json.replies)}`);

    assert.deepEqual(sim.protocolErrors, []);
    const exit = await daemon.stop({ timeoutMs: 20000 });
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});

test('a receipt right behind its submit_sm_resp still marks the reply', { timeout: 60000 }, async () => {
  const count = 6;
  const undeliverable = msisdn(3);
  const wd = await makeWorkdir('smpp_receipts_fast');
  await wd.run(async () => {
    const { sim, api, daemon, configPath } = await startStack(wd);
    sim.receiptPolicy = (submit) => ({
      state: submit.destination === undeliverable ? 'UNDELIV' : 'DELIVRD',
      form: 'both',
      delayMs: 0,
    });
    const accepted = await runTraffic({ sim, api, daemon, count });
    assert.equal(accepted.length, 2 * count);
    const expected = (number) => (number === undeliverable ? 'undeliverable' : 'delivered');
    await waitForOutboundStates({ configPath, daemon, count, expected });
    const exit = await daemon.stop({ timeoutMs: 20000 });
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});

test('receipts for every part of a concatenated reply, each right behind its submit_sm_resp, mark it delivered',
  { timeout: 60000 }, async () => {
    const count = 4;
    // A `received` reply of two SMS parts.
    const longReceived = 'Terima kasih, laporan Anda kami terima dengan nomor {ref}. Kami teruskan ke LAPOR! ' +
      'dan kabari Anda via SMS. Simpan nomor ini untuk menanyakan perkembangan laporan: kirim CEK {ref} ke 1708. ' +
      'Layanan ini tidak dipungut biaya.';
    const wd = await makeWorkdir('smpp_receipts_parts');
    await wd.run(async () => {
      const { sim, api, daemon, configPath } = await startStack(wd, { config: { replies: { received: longReceived } } });
      sim.receiptPolicy = () => ({ state: 'DELIVRD', form: 'both', delayMs: 0 });
      const accepted = await runTraffic({ sim, api, daemon, count });
      const parts = accepted.filter((s) => s.udh && s.udh.total === 2);
      assert.equal(parts.length, 2 * count, `the received reply went in 2 parts to each citizen (${accepted.length} submits)`);
      await waitForOutboundStates({ configPath, daemon, count, expected: () => 'delivered' });
      const exit = await daemon.stop({ timeoutMs: 20000 });
      assert.deepEqual(exit, { code: 0, signal: null });
    });
  });
