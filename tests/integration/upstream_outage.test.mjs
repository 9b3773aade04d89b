// The LAPOR! API is down (503) while 20 reports come in: nothing is lost,
// citizens still get `received`, and once the API is back every report is
// forwarded exactly once and answered with its tracking id.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { fillTemplate, laporctl, makeWorkdir, sleep, startStack, templateRegex, waitFor } from './harness.mjs';

const k_reports = 20;

function msisdn(i) {
  return `62813000000${String(i).padStart(2, '0')}`;
}

function reportText(i) {
  return `lampu jalan mati nomor ${i} di Jl. Merdeka, sudah ${i + 1} malam`;
}

test('reports survive an upstream outage and are forwarded once it ends', { timeout: 180000 }, async () => {
  const wd = await makeWorkdir('upstream_outage');
  await wd.run(async () => {
    const { sim, api, daemon, configPath } = await startStack(wd);
    api.setMode('unavailable');

    for (let i = 0; i < k_reports; i++) {
      const { status } = await sim.sendMo({ from: msisdn(i), text: `LAPORYAI ${reportText(i)}` });
      assert.equal(status, 0, `deliver_sm_resp for ${msisdn(i)} is ESME_ROK`);
    }

    // Citizens are told their report is in even while upstream is down.
    const receivedRe = templateRegex('received');
    await waitFor(() => {
      for (let i = 0; i < k_reports; i++) {
        if (!sim.messagesTo(msisdn(i)).some((m) => receivedRe.test(m.text))) {
          return false;
        }
      }
      return true;
    }, { timeoutMs: 30000, daemon, what: () => `${k_reports} received replies (${sim.submits.length} submit_sm so far)` });

    // A few retries at retry_min 200ms.
    await waitFor(() => api.requests.some((r) => r.status === 503), {
      timeoutMs: 10000, daemon, what: 'a first forwarding attempt',
    });
    await sleep(2000);
    assert.equal(api.posts.length, 0, 'no report was accepted upstream');
    const attempts = api.requests.filter((r) => r.status === 503).length;
    assert.ok(attempts >= 2, `the daemon kept trying (${attempts} attempts)`);
    assert.ok(api.requests.every((r) => r.status === 503), 'every request met the outage, none was malformed');

    const during = await laporctl(configPath, ['--json', 'reports', '--limit', '1000']);
    assert.equal(during.code, 0, `laporctl reports; stderr: ${during.stderr}`);
    assert.equal(during.json.length, k_reports, 'all 20 reports are stored');
    for (const report of during.json) {
      assert.ok(['received', 'forwarding'].includes(report.state), `report ${report.ref} is ${report.state}`);
      assert.equal(report.tracking_id, null);
    }
    const status = await laporctl(configPath, ['--json', 'status']);
    assert.notEqual(status.code, 0, 'laporctl status is not healthy while upstream is down');
    assert.ok(['retrying', 'circuit_open'].includes(status.json.upstream.state),
      `upstream state ${status.json.upstream.state}`);
    for (let i = 0; i < k_reports; i++) {
      assert.equal(sim.messagesTo(msisdn(i)).length, 1, `${msisdn(i)} has only the received reply so far`);
    }

    api.setMode('ok');
    await api.waitForPosts(k_reports, { timeoutMs: 60000 });
    await waitFor(() => {
      for (let i = 0; i < k_reports; i++) {
        if (sim.messagesTo(msisdn(i)).length < 2) {
          return false;
        }
      }
      return true;
    }, { timeoutMs: 30000, daemon, what: () => `${k_reports} forwarded replies (${sim.submits.length} submit_sm so far)` });
    // Give a duplicate time to show up before counting.
    await sleep(1000);

    assert.equal(api.posts.length, k_reports, 'each report was accepted upstream exactly once');
    const texts = api.posts.map((p) => p.isi).sort();
    const expected = Array.from({ length: k_reports }, (_, i) => reportText(i)).sort();
    assert.deepEqual(texts, expected, 'each text reached the API exactly once');
    for (let i = 0; i < k_reports; i++) {
      const number = msisdn(i);
      const post = api.posts.find((p) => p.telpon === number);
      assert.equal(post.isi, reportText(i));
      const messages = sim.messagesTo(number);
      assert.equal(messages.length, 2, `${number}: ${JSON.stringify(messages.map((m) => m.text))}`);
      const { ref } = receivedRe.exec(messages[0].text).groups;
      assert.equal(messages[1].text, fillTemplate('forwarded', { ref, tracking_id: post.trackingId }));
    }

    const after = await laporctl(configPath, ['--json', 'reports', '--limit', '1000']);
    assert.equal(after.json.length, k_reports);
    assert.ok(after.json.every((r) => r.state === 'forwarded'), 'every report is forwarded');
    assert.ok(sim.deliverResponses.every((r) => r.status === 0));

    const exit = await daemon.stop({ timeoutMs: 20000 });
    assert.deepEqual(exit, { code: 0, signal: null }, 'laporsmsd exits 0 on SIGTERM');
  });
});
