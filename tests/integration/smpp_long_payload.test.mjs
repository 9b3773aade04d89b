// A long report in one deliver_sm (SMPP 3.4 message_payload, up to 64 KiB):
// acknowledged, filed whole as one report with its exact text, on the first
// bind. A frame longer than the daemon takes, but with a believable
// command_length, is read past and answered with generic_nack: the link
// stays up and the SMSC's next MO gets through.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { buildPdu, Status } from '../peers/smsc-sim.mjs';
import { makeWorkdir, sleep, startStack, waitFor } from './harness.mjs';

const k_deliver_sm = 0x00000005;

// 9,000 GSM characters, no two windows alike, so a cut or a reordering shows.
function longReport() {
  const words = [];
  for (let i = 0; words.join(' ').length < 9000; i++) {
    words.push(`bagian${i}`);
  }
  return words.join(' ').slice(0, 9000).trimEnd();
}

test('a 9,000-character report in one deliver_sm is one report with its exact text, on one bind',
  { timeout: 60000 }, async () => {
    const wd = await makeWorkdir('smpp_long_payload');
    await wd.run(async () => {
      const { sim, api, daemon } = await startStack(wd);
      const first = await sim.waitForBind();
      const text = longReport();
      const from = '6281355500001';
      const mo = await sim.sendMo({
        from, shortMessage: Buffer.alloc(0), dataCoding: 0,
        tlvs: { message_payload: Buffer.from(`LAPORYAI ${text}`, 'latin1') },
      });
      assert.equal(mo.status, Status.ESME_ROK, 'the long deliver_sm is acknowledged');
      await api.waitForPosts(1, { timeoutMs: 15000 });
      assert.equal(api.posts.length, 1, 'one report upstream');
      assert.equal(api.posts[0].isi, text, 'with the exact text');
      assert.equal(api.posts[0].telpon, from);

      // A frame of 100 KiB, over the daemon's cap, with a true command_length.
      const seq = 0x60000001;
      sim.sendRaw(buildPdu({ commandId: k_deliver_sm, sequence: seq, body: Buffer.alloc(100 * 1024, 0x41) }),
        { sessionIndex: first.sessionIndex });
      const nack = await sim.waitForResponse(seq, { timeoutMs: 5000 });
      assert.equal(nack.command, 'generic_nack', 'the oversized frame is answered with generic_nack');
      assert.equal(nack.status, Status.ESME_RINVCMDLEN, 'with ESME_RINVCMDLEN');
      const second = await sim.sendMo({ from: '6281355500002', text: 'LAPORYAI lampu jalan mati di gang 5' });
      assert.equal(second.status, Status.ESME_ROK, 'the next MO is acknowledged on the same session');
      await api.waitForPosts(2, { timeoutMs: 15000 });

      await sleep(200);
      assert.equal(sim.bindAttempts.length, 1, 'one bind: the link never flapped');
      await waitFor(() => sim.messagesTo(from).filter((m) => m.complete).length >= 2,
        { timeoutMs: 15000, daemon, what: 'received and forwarded replies to the long report' });
      assert.deepEqual(sim.protocolErrors, [], 'the daemon sent only well-formed PDUs');
      const exit = await daemon.stop({ timeoutMs: 20000 });
      assert.deepEqual(exit, { code: 0, signal: null });
    });
  });
