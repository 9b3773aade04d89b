// Senders as the SMSC types them (SMPP 3.4 source_addr_ton). A national
// number without its trunk 0 is a citizen at home, not a number abroad: the
// report goes upstream as 62…, and both replies reach 62…. A sender of 6
// digits or fewer, or an alphanumeric one (by its characters or by TON 5),
// gets no SMS from us at all: not `received`, and not `forwarded` either.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { makeWorkdir, sleep, startStack, waitFor } from './harness.mjs';

test('TON decides how a sender is read; short and alphanumeric senders never get an SMS',
  { timeout: 60000 }, async () => {
    const wd = await makeWorkdir('smpp_numbers');
    await wd.run(async () => {
      const { sim, api, daemon } = await startStack(wd);

      const national = await sim.sendMo({ from: '8123400001', sourceTon: 2, sourceNpi: 1,
        text: 'LAPORYAI trotoar rusak di depan sekolah dasar' });
      assert.equal(national.status, 0);
      await api.waitForPosts(1, { timeoutMs: 15000 });
      assert.equal(api.posts[0].telpon, '628123400001', 'a national number is stored with 62 in front');
      await waitFor(() => sim.messagesTo('628123400001').filter((m) => m.complete).length >= 2,
        { daemon, timeoutMs: 15000, what: 'two replies to the national sender' });
      assert.equal(sim.messagesTo('8123400001').length, 0, 'nothing went to the number read as foreign');

      const quiet = [
        { from: '12345', sourceTon: 0, what: 'a 5-digit sender' },
        { from: '81234567890', sourceTon: 5, what: 'an all-digit alphanumeric sender (TON 5)' },
        { from: 'PEMKOT', sourceTon: 5, what: 'an alphanumeric sender' },
      ];
      for (const [i, { from, sourceTon }] of quiet.entries()) {
        const mo = await sim.sendMo({ from, sourceTon, sourceNpi: 0, text: `LAPORYAI banjir di jalan nomor ${i + 10}` });
        assert.equal(mo.status, 0);
      }
      await api.waitForPosts(1 + quiet.length, { timeoutMs: 15000 });
      for (const { from, what } of quiet) {
        assert.ok(api.posts.some((p) => p.telpon === from), `the report of ${what} is forwarded`);
      }
      // The forwarded replies would be queued right after the posts; give them time to leave.
      await sleep(1500);
      for (const { from, what } of quiet) {
        assert.deepEqual(sim.messagesTo(from).map((m) => m.text), [], `${what} got no SMS`);
      }
      assert.equal(sim.submits.length, 2, 'only the national sender\'s two replies were sent');
      assert.deepEqual(await daemon.stop({ timeoutMs: 20000 }), { code: 0, signal: null });
    });
  });
