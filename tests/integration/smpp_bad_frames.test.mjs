// Hostile and broken frames from the SMSC. A deliver_sm whose body does not
// parse gets an error response (deliver_sm_resp with an error status, or
// generic_nack), an unknown command_id gets generic_nack ESME_RINVCMDID, and
// the session carries on; a command_length no frame can have (under 16, or
// past 16 MiB) leaves no way to find the next frame, so the daemon drops the
// connection, binds again, and traffic flows. (A believable frame that is only
// too long is read past: smpp_long_payload.)

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { buildPdu, encodeGsm, Status } from '../peers/smsc-sim.mjs';
import { k_replies, laporctl, makeWorkdir, sleep, startStack, waitFor } from './harness.mjs';

const k_deliver_sm = 0x00000005;
const k_reconnect_max_ms = 1000;

function cstring(text) {
  return Buffer.concat([Buffer.from(text, 'latin1'), Buffer.from([0])]);
}

// A deliver_sm body, field by field (SMPP 3.4 §4.6.1); `smLength` may lie
// about the short_message that follows, `source` may be any raw bytes.
function deliverSmBody({ source = cstring('6281344400009'), text = 'INFO', smLength, tail = Buffer.alloc(0) } = {}) {
  const message = encodeGsm(text);
  return Buffer.concat([
    cstring(''), // service_type
    Buffer.from([1, 1]), source,
    Buffer.from([0, 0]), cstring('1708'),
    Buffer.from([0, 0, 0]), // esm_class, protocol_id, priority_flag
    cstring(''), cstring(''), // schedule_delivery_time, validity_period
    Buffer.from([0, 0, 0, 0]), // registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
    Buffer.from([smLength ?? message.length]), message,
    tail,
  ]);
}

// Sends an INFO MO from `from` and waits for the help reply: the link works.
async function assertTrafficFlows(sim, daemon, from, what) {
  const mo = await sim.sendMo({ from, text: 'INFO' });
  assert.equal(mo.status, 0, `MO ${what} is acknowledged`);
  await waitFor(() => sim.messagesTo(from).length >= 1, {
    timeoutMs: 10000, daemon, what: `the help reply ${what}`,
  });
  assert.deepEqual(sim.messagesTo(from).map((m) => m.text), [k_replies.help], `one help reply ${what}`);
}

test('malformed PDUs are answered with errors and the session goes on; a hostile length forces a reconnect',
  { timeout: 60000 }, async () => {
    const wd = await makeWorkdir('smpp_bad_frames');
    await wd.run(async () => {
      const { sim, daemon, configPath } = await startStack(wd);
      const first = await sim.waitForBind();
      await assertTrafficFlows(sim, daemon, '6281344400001', 'before the bad frames');

      // Malformed deliver_sm bodies, each with a true command_length.
      const malformed = [
        { what: 'sm_length 200 with 4 octets of message', body: deliverSmBody({ smLength: 200 }) },
        { what: 'source_addr of 40 digits without its NUL', body: deliverSmBody({ source: Buffer.from('6'.repeat(40)) }) },
        {
          what: 'a TLV announcing 300 octets with 2 left',
          body: deliverSmBody({ tail: Buffer.from([0x04, 0x24, 0x01, 0x2c, 0x41, 0x42]) }),
        },
        { what: 'a body cut off after the source address', body: deliverSmBody().subarray(0, 17) },
      ];
      let sequence = 0x50000001;
      for (const { what, body } of malformed) {
        const seq = sequence++;
        sim.sendRaw(buildPdu({ commandId: k_deliver_sm, sequence: seq, body }), { sessionIndex: first.sessionIndex });
        const response = await sim.waitForResponse(seq, { timeoutMs: 5000 }).catch((error) => {
          throw new Error(`no response to a deliver_sm with ${what}: ${error.message}`);
        });
        assert.ok(['deliver_sm_resp', 'generic_nack'].includes(response.command),
          `a deliver_sm with ${what} is answered with deliver_sm_resp or generic_nack (got ${response.command})`);
        assert.notEqual(response.status, Status.ESME_ROK, `a deliver_sm with ${what} is not acknowledged as OK`);
      }

      // An unknown command_id: generic_nack ESME_RINVCMDID, same sequence.
      const unknownSeq = sequence++;
      sim.sendRaw(buildPdu({ commandId: 0x00000555, sequence: unknownSeq }), { sessionIndex: first.sessionIndex });
      const nack = await sim.waitForResponse(unknownSeq, { timeoutMs: 5000 });
      assert.equal(nack.command, 'generic_nack', 'an unknown command_id is answered with generic_nack');
      assert.equal(nack.status, Status.ESME_RINVCMDID, 'with ESME_RINVCMDID');
      // An unknown command_id with a body, and a response to nothing: no reason to drop the session.
      sim.sendRaw(buildPdu({ commandId: 0x00000556, sequence: sequence++, body: Buffer.from('garbage\0garbage') }),
        { sessionIndex: first.sessionIndex });
      sim.sendRaw(buildPdu({ commandId: 0x80000555, sequence: sequence++ }), { sessionIndex: first.sessionIndex });
      await sleep(300);

      daemon.assertRunning('the malformed frames');
      assert.equal(sim.bindAttempts.length, 1, 'no reconnect after malformed but well-framed PDUs');
      assert.equal(sim.sessionHistory.find((h) => h.sessionIndex === first.sessionIndex).closedAt, null,
        'the session is still open');
      await assertTrafficFlows(sim, daemon, '6281344400002', 'after the malformed frames');
      assert.equal(sim.bindAttempts.length, 1, 'still the first bind');
      const inbound = await laporctl(configPath, ['--json', 'messages', '--direction', 'in', '--limit', '100']);
      assert.deepEqual(inbound.json.map((m) => m.msisdn).sort(), ['6281344400001', '6281344400002'],
        'nothing from the malformed deliver_sm was stored');

      // Hostile command_length values: the daemon cannot find the next frame; it drops the connection.
      const hostile = [
        { what: 'command_length 0x7FFFFFFF', frame: buildPdu({ commandId: k_deliver_sm, sequence: sequence++,
          body: deliverSmBody(), commandLength: 0x7FFFFFFF }) },
        { what: 'command_length 8', frame: buildPdu({ commandId: k_deliver_sm, sequence: sequence++, commandLength: 8 }) },
      ];
      let current = first;
      let binds = 1;
      let citizen = 3;
      for (const { what, frame } of hostile) {
        const sentAt = Date.now();
        sim.sendRaw(frame, { sessionIndex: current.sessionIndex });
        const closed = await sim.waitForSessionClose(current.sessionIndex, { timeoutMs: 5000 }).catch((error) => {
          throw new Error(`the daemon kept the connection after ${what}: ${error.message}`);
        });
        assert.equal(closed.closedBy, 'peer', `laporsmsd closed the connection after ${what}`);
        binds += 1;
        const next = await sim.waitForBind({ count: binds, timeoutMs: 10000 });
        assert.ok(next.time - sentAt <= k_reconnect_max_ms + 1000,
          `rebound ${next.time - sentAt} ms after ${what}`);
        daemon.assertRunning(what);
        await assertTrafficFlows(sim, daemon, `62813444000${String(10 + citizen++)}`, `after ${what}`);
        current = next;
      }

      assert.deepEqual(sim.protocolErrors, [], 'the daemon sent only well-formed PDUs');
      const exit = await daemon.stop({ timeoutMs: 20000 });
      assert.deepEqual(exit, { code: 0, signal: null });
    });
  });
