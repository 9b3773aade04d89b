// Issue 6: the API takes a report but its answer never reaches the daemon
// (it comes after upstream.timeout, or the connection is reset mid-response).
// The daemon must retry. rest-json: the retry carries the same
// Idempotency-Key, the API answers 409 with the first tracking id, and so
// the API holds one report and the citizen gets one `forwarded` SMS with
// that id. lapor-xml has no key: each timeout can leave one duplicate at the
// API, never more, and the daemon's log shows every attempt.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { fillTemplate, makeWorkdir, sleep, startStack } from './harness.mjs';
import {
  ctlReport, ctlStatus, fileReportAndGetRef, k_fast_upstream, linesAbout, repliesOf, waitForReplies,
} from './upstream_util.mjs';

const k_timeout_ms = 500;
const k_late_ms = 1500;
const k_text = 'saluran air tersumbat di depan SDN 3, banjir tiap hujan';

function config(adapter) {
  return { upstream: { ...k_fast_upstream, adapter, timeout: `${k_timeout_ms}ms` } };
}

// The fault applies to the first `faults` report POSTs; the ones after are answered normally.
async function scenario(t, { name, adapter, mode, faults }) {
  const wd = await makeWorkdir(name);
  return wd.run(async () => {
    const { sim, api, daemon, configPath } = await startStack(wd, { api: { adapter }, config: config(adapter) });
    const number = '6281370001';
    api.setMode(mode, { delayMs: k_late_ms, count: faults });
    const ref = await fileReportAndGetRef(sim, number, k_text, { daemon });
    const [forwarded] = await waitForReplies(sim, number, 'forwarded', { daemon, timeoutMs: 20000 });
    // Let a late duplicate or a second forwarded reply show up before counting.
    await sleep(k_late_ms + 1000);

    const requests = api.requestsFor({ telpon: number });
    const report = await ctlReport(configPath, ref);
    t.diagnostic(`${adapter}, ${mode} ×${faults}: ${requests.length} POSTs at the API ` +
      `(${JSON.stringify(requests.map((r) => r.status))}), ${api.posts.length} reports taken, ` +
      `attempts recorded ${JSON.stringify(report.attempts.map((a) => a.outcome))}`);
    assert.equal(requests.length, faults + 1, 'one POST per failed attempt and one that got through');
    for (const r of requests.slice(0, faults)) {
      assert.equal(r.mode, mode);
      assert.equal(r.status, null, 'the faulty attempts got no complete answer');
    }
    assert.deepEqual(report.attempts.map((a) => a.outcome), [...new Array(faults).fill('temporary'), 'delivered'],
      'the daemon recorded each failed attempt as temporary and the last as delivered');
    for (const attempt of report.attempts.slice(0, faults)) {
      assert.match(attempt.error ?? '', mode === 'late' ? /timeout/i : /io|closed|reset|mid-response|eof/i,
        `the attempt error says what happened: ${attempt.error}`);
    }
    // The daemon logs each attempt of this report, numbered.
    const lines = linesAbout(daemon, ref);
    for (let n = 1; n <= faults; n++) {
      assert.ok(lines.some((l) => l.includes(` attempt=${n} `) && /not forwarded/.test(l)),
        `the log has failed attempt ${n} of ${ref}:\n${lines.join('\n')}`);
    }
    assert.ok(lines.some((l) => /report forwarded/.test(l) && l.includes(` attempt=${faults + 1} `)),
      `the log has the successful attempt ${faults + 1} of ${ref}:\n${lines.join('\n')}`);

    const replies = repliesOf(sim, number, 'forwarded');
    assert.equal(replies.length, 1, 'the citizen got one forwarded SMS');
    assert.equal(sim.messagesTo(number).length, 2, 'the citizen got received and forwarded, nothing else');
    assert.equal(report.state, 'forwarded');
    assert.equal(report.tracking_id, forwarded.groups.tracking_id);
    const status = await ctlStatus(configPath);
    assert.equal(status.upstream.state, 'ok', `upstream state after the success: ${status.upstream.state}`);
    return { api, ref, requests, forwarded, number };
  });
}

for (const mode of ['late', 'reset']) {
  test(`rest-json: an answer lost to a ${mode === 'late' ? 'timeout' : 'reset'} leaves one report upstream`,
    { timeout: 60000 }, async (t) => {
      const { api, ref, requests, forwarded } = await scenario(t, {
        name: `upstream_dedup_json_${mode}`, adapter: 'rest-json', mode, faults: 1,
      });
      assert.equal(api.posts.length, 1, 'the API holds one report');
      const [post] = api.posts;
      assert.equal(post.idempotencyKey, ref);
      assert.ok(requests.every((r) => r.key === ref), 'every attempt carried the same Idempotency-Key');
      assert.equal(requests[1].status, 409, 'the retry was answered 409: the key was seen before');
      assert.equal(forwarded.text, fillTemplate('forwarded', { ref, tracking_id: post.trackingId }),
        'the citizen got the tracking id of the one report the API holds');
    });
}

test('lapor-xml: each timeout leaves at most one duplicate upstream, and the log shows each attempt',
  { timeout: 60000 }, async (t) => {
    const timeouts = 2;
    const { api, ref, requests, forwarded, number } = await scenario(t, {
      name: 'upstream_dedup_xml_late', adapter: 'lapor-xml', mode: 'late', faults: timeouts,
    });
    const posts = api.posts.filter((p) => p.telpon === number);
    const duplicates = posts.length - 1;
    t.diagnostic(`lapor-xml: ${timeouts} timeouts, ${posts.length} reports at the API, ${duplicates} duplicates ` +
      `(tracking ids ${posts.map((p) => p.trackingId).join(', ')})`);
    assert.ok(duplicates <= timeouts, `at most one duplicate per timeout (${duplicates} for ${timeouts})`);
    assert.ok(posts.every((p) => p.isi === k_text));
    // The one whose answer arrived is what the citizen was told.
    assert.equal(forwarded.text, fillTemplate('forwarded', { ref, tracking_id: posts.at(-1).trackingId }));
    assert.equal(requests.at(-1).status, 200);
  });
