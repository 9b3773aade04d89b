// bind = "receiver+transmitter": two connections, bind_receiver and
// bind_transmitter, one link. The end-to-end flow of e2e_basic passes over
// them: MO arrives on the receiver, replies leave on the transmitter, and
// SIGTERM unbinds both.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { fillTemplate, laporctl, makeWorkdir, startStack, templateRegex, waitFor } from './harness.mjs';

const k_citizens = 10;

function msisdn(i) {
  return `62815000000${String(i).padStart(2, '0')}`;
}

function reportText(i) {
  return i % 3 === 1
    ? `saluran air tersumbat 🚱 di gang ${i}, bau menyengat`
    : `jalan berlubang nomor ${i} di Jl. Gatot Subroto {dekat [halte]}`;
}

test('receiver+transmitter carries the end-to-end flow on two binds', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('smpp_rx_tx');
  await wd.run(async () => {
    const { sim, api, daemon, configPath } = await startStack(wd, {
      config: { smsc: { bind: 'receiver+transmitter' } },
    });
    await waitFor(() => {
      const ok = sim.bindAttempts.filter((a) => a.ok).map((a) => a.command).sort();
      return ok.length >= 2;
    }, { timeoutMs: 10000, daemon, what: () => `two binds (${JSON.stringify(sim.bindAttempts)})` });
    const binds = sim.bindAttempts.filter((a) => a.ok);
    assert.deepEqual(binds.map((a) => a.command).sort(), ['bind_receiver', 'bind_transmitter'],
      'one bind_receiver and one bind_transmitter, nothing else');
    assert.ok(sim.bindAttempts.every((a) => a.ok), 'no bind was refused');
    const receiver = binds.find((a) => a.command === 'bind_receiver').sessionIndex;
    const transmitter = binds.find((a) => a.command === 'bind_transmitter').sessionIndex;
    assert.notEqual(receiver, transmitter, 'two connections');
    await waitFor(async () => (await laporctl(configPath, ['--json', 'status'])).json.links[0].state === 'bound', {
      timeoutMs: 5000, daemon, what: 'laporctl status to show the link bound',
    });

    const results = await Promise.all(Array.from({ length: k_citizens }, (_, i) =>
      sim.sendMo({ from: msisdn(i), text: `LAPORYAI ${reportText(i)}`, timeoutMs: 15000 })));
    assert.deepEqual(results.map((r) => r.status), new Array(k_citizens).fill(0), 'every MO acknowledged');
    const moResponses = sim.deliverResponses.filter((r) => results.some((m) => m.sequence === r.sequence));
    assert.ok(moResponses.every((r) => r.sessionIndex === receiver), 'MO went over the receiver');

    await api.waitForPosts(k_citizens, { timeoutMs: 30000 });
    await waitFor(() => Array.from({ length: k_citizens }, (_, i) => msisdn(i))
      .every((n) => sim.messagesTo(n).filter((m) => m.complete).length >= 2), {
      timeoutMs: 30000, daemon, what: () => `2 replies to each citizen (${sim.submits.length} submits)`,
    });

    const receivedRe = templateRegex('received');
    for (let i = 0; i < k_citizens; i++) {
      const number = msisdn(i);
      const post = api.posts.find((p) => p.telpon === number);
      assert.ok(post, `a post for ${number}`);
      assert.equal(post.isi, reportText(i));
      const messages = sim.messagesTo(number);
      assert.equal(messages.length, 2, `${number}: ${JSON.stringify(messages.map((m) => m.text))}`);
      const match = receivedRe.exec(messages[0].text);
      assert.ok(match, `${number}'s first reply is 'received': ${messages[0].text}`);
      assert.equal(messages[1].text, fillTemplate('forwarded', { ref: match.groups.ref, tracking_id: post.trackingId }));
    }
    assert.ok(sim.submits.length > 0);
    for (const submit of sim.submits) {
      assert.equal(submit.sessionIndex, transmitter, 'every submit_sm went over the transmitter');
      assert.equal(submit.status, 0);
    }
    assert.deepEqual(sim.protocolErrors, [], 'no submit_sm on the receiver, only well-formed PDUs');

    const status = await laporctl(configPath, ['--json', 'status']);
    assert.equal(status.code, 0, `healthy; ${status.stdout}`);
    assert.equal(status.json.links[0].state, 'bound');
    assert.equal(status.json.links[0].bind, 'receiver+transmitter');
    const reports = await laporctl(configPath, ['--json', 'reports', '--limit', '100']);
    assert.equal(reports.json.length, k_citizens);
    assert.ok(reports.json.every((r) => r.state === 'forwarded'));

    const exit = await daemon.stop({ timeoutMs: 20000 });
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.deepEqual([...new Set(sim.unbinds.map((u) => u.sessionIndex))].sort(), [receiver, transmitter].sort(),
      'SIGTERM unbinds both connections');
  });
});
