// End to end, the happy path: 100 citizens report through the SMSC simulator;
// each report reaches the LAPOR! API double exactly once with its exact text,
// and each citizen gets the `received` and `forwarded` replies. INFO and an
// empty LAPORYAI get their fixed replies.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  fillTemplate, k_replies, laporctl, makeWorkdir, parseLogLine, startStack, templateRegex, waitFor,
} from './harness.mjs';

const k_citizens = 100;

function msisdn(i) {
  return `62812000000${String(i).padStart(2, '0')}`;
}

// The report text after the keyword. A few carry GSM extension characters and
// a few only fit UCS-2 (with a character outside the BMP), as phones send them.
function reportText(i) {
  if (i % 10 === 3) {
    return `biaya parkir liar {Rp 5.000} di [Pasar ${i}] ~ tiap hari, bayar €`;
  }
  if (i % 10 === 7) {
    return `jalan rusak 🚧 di gang ${i}, Kelurahan Sukamaju — mohon segera diperbaiki`;
  }
  return `jalan berlubang nomor ${i} di Jl. Ahmad Yani RT ${String(i % 13).padStart(2, '0')}`;
}

test('100 reports are stored, forwarded once each and answered twice each', { timeout: 240000 }, async () => {
  const wd = await makeWorkdir('e2e_basic');
  await wd.run(async () => {
    const { sim, api, daemon, configPath } = await startStack(wd);

    // Send in batches of 10 in flight, as an SMSC with a window would.
    const results = [];
    for (let start = 0; start < k_citizens; start += 10) {
      const batch = [];
      for (let i = start; i < Math.min(start + 10, k_citizens); i++) {
        batch.push(sim.sendMo({ from: msisdn(i), text: `LAPORYAI ${reportText(i)}`, timeoutMs: 15000 }));
      }
      results.push(...await Promise.all(batch));
    }
    assert.deepEqual(results.map((r) => r.status), new Array(k_citizens).fill(0),
      'every deliver_sm_resp is ESME_ROK');

    // Upstream: one post per citizen with the exact text.
    await api.waitForPosts(k_citizens, { timeoutMs: 60000 });
    const postsByNumber = new Map();
    for (const post of api.posts) {
      assert.ok(!postsByNumber.has(post.telpon), `only one post for ${post.telpon}`);
      postsByNumber.set(post.telpon, post);
    }
    for (let i = 0; i < k_citizens; i++) {
      const post = postsByNumber.get(msisdn(i));
      assert.ok(post, `a post for ${msisdn(i)}`);
      assert.equal(post.isi, reportText(i), `the text upstream for ${msisdn(i)}`);
      assert.equal(post.token, api.token);
      assert.equal(post.rahasia, true);
      assert.equal(post.anonim, true);
      assert.match(post.headers['content-type'], /^text\/xml; ?charset=utf-8$/i);
    }

    // Replies: for each citizen `received` with its ref, then `forwarded` with its tracking id.
    const receivedRe = templateRegex('received');
    await waitFor(() => {
      for (let i = 0; i < k_citizens; i++) {
        if (sim.messagesTo(msisdn(i)).filter((m) => m.complete).length < 2) {
          return false;
        }
      }
      return true;
    }, {
      timeoutMs: 60000,
      daemon,
      what: () => `2 replies to each of ${k_citizens} citizens (${sim.submits.length} submit_sm so far)`,
    });
    const refs = new Map();
    for (let i = 0; i < k_citizens; i++) {
      const number = msisdn(i);
      const messages = sim.messagesTo(number);
      assert.equal(messages.length, 2, `${number} got exactly 2 replies: ${JSON.stringify(messages.map((m) => m.text))}`);
      const match = receivedRe.exec(messages[0].text);
      assert.ok(match, `${number}'s first reply is the received text: ${JSON.stringify(messages[0].text)}`);
      const { ref } = match.groups;
      assert.ok(!refs.has(ref), `ref ${ref} is unique`);
      refs.set(ref, number);
      const trackingId = postsByNumber.get(number).trackingId;
      assert.equal(messages[1].text, fillTemplate('forwarded', { ref, tracking_id: trackingId }),
        `${number}'s second reply names its tracking id`);
    }
    for (const submit of sim.submits) {
      assert.equal(submit.source, '1708', 'replies come from the short code');
      assert.equal(submit.dataCoding, 0, 'the reply templates fit GSM 03.38, so they go as data_coding 0');
      assert.equal(submit.status, 0);
    }

    // The operator's view agrees.
    const reports = await laporctl(configPath, ['--json', 'reports', '--limit', '1000']);
    assert.equal(reports.code, 0, `laporctl reports exit code; stderr: ${reports.stderr}`);
    assert.equal(reports.json.length, k_citizens, 'laporctl lists 100 reports');
    for (const report of reports.json) {
      const number = refs.get(report.ref);
      assert.ok(number, `report ${report.ref} is one the citizens were told about`);
      assert.equal(report.msisdn, number);
      assert.equal(report.state, 'forwarded');
      assert.equal(report.tracking_id, postsByNumber.get(number).trackingId);
      assert.equal(report.text, postsByNumber.get(number).isi);
    }
    const status = await laporctl(configPath, ['--json', 'status']);
    assert.equal(status.code, 0, `laporctl status exit code (healthy); stdout: ${status.stdout}`);
    assert.equal(status.json.daemon, 'running');
    assert.equal(status.json.links.length, 1);
    assert.equal(status.json.links[0].state, 'bound');
    assert.equal(status.json.queues.upstream_pending, 0);
    assert.equal(status.json.queues.upstream_failed, 0);

    // INFO → help; LAPORYAI alone → empty_report; neither goes upstream.
    assert.equal((await sim.sendMo({ from: '6281299990001', text: 'INFO' })).status, 0);
    assert.equal((await sim.sendMo({ from: '6281299990002', text: 'LAPORYAI' })).status, 0);
    await waitFor(() => sim.messagesTo('6281299990001').length && sim.messagesTo('6281299990002').length, {
      timeoutMs: 20000, daemon, what: 'the replies to INFO and to an empty LAPORYAI',
    });
    assert.deepEqual(sim.messagesTo('6281299990001').map((m) => m.text), [k_replies.help]);
    assert.deepEqual(sim.messagesTo('6281299990002').map((m) => m.text), [k_replies.empty_report]);
    assert.equal(api.posts.length, k_citizens, 'INFO and an empty report are not forwarded');

    assert.equal(sim.deliverResponses.length, k_citizens + 2);
    assert.ok(sim.deliverResponses.every((r) => r.status === 0), 'every deliver_sm_resp status is 0');
    assert.deepEqual(sim.protocolErrors, [], 'the daemon sent only well-formed PDUs');
    assert.deepEqual(sim.genericNacks, [], 'the daemon sent no generic_nack');

    // SIGTERM: unbind, exit 0.
    const exit = await daemon.stop({ timeoutMs: 20000 });
    assert.deepEqual(exit, { code: 0, signal: null }, 'laporsmsd exits 0 on SIGTERM');
    assert.ok(sim.unbinds.length >= 1, 'laporsmsd unbinds before it exits');

    // The log: one line per event, a short message then key=value fields
    // that a machine can pick (util/log.hpp), numbers masked.
    const parsed = daemon.lines.map((line) => ({ line, event: parseLogLine(line) }));
    const unreadable = parsed.filter((p) => p.event === null).map((p) => p.line);
    assert.deepEqual(unreadable, [], 'every line is "<time> <level> <message> key=value…"');
    const events = parsed.map((p) => p.event);
    const withoutFields = events.filter((e) => Object.keys(e.fields).length === 0);
    assert.deepEqual(withoutFields, [], 'every line of this run carries fields');
    const filed = events.filter((e) => e.message === 'intake: report filed');
    assert.equal(filed.length, k_citizens, 'one "report filed" line per report');
    const forwarded = events.filter((e) => e.message === 'upstream: report forwarded');
    assert.equal(forwarded.length, k_citizens, 'one "report forwarded" line per report');
    const submitted = events.filter((e) => e.message === 'outbox: reply submitted');
    assert.equal(submitted.length, 2 * k_citizens + 2, 'one "reply submitted" line per reply');
    const trackingIds = new Set(api.posts.map((p) => String(p.trackingId)));
    for (const e of forwarded) {
      assert.match(e.fields.ref, /^[A-Z0-9]{6,}$/, `a ref: ${JSON.stringify(e)}`);
      assert.ok(trackingIds.has(e.fields.tracking_id), `the API's tracking id: ${JSON.stringify(e)}`);
      assert.equal(e.fields.outcome, 'delivered');
    }
    assert.deepEqual(new Set(filed.map((e) => e.fields.ref)), new Set(forwarded.map((e) => e.fields.ref)),
      'the refs filed are the refs forwarded');
    for (const e of [...filed, ...submitted]) {
      assert.equal(e.fields.link, 'sim', `the link: ${JSON.stringify(e)}`);
      assert.match(e.fields.msisdn, /^\d{4}\*+\d{3}$/, `a masked number: ${JSON.stringify(e)}`);
    }
    const stored = events.filter((e) => e.message === 'intake: MO stored').map((e) => e.fields.kind);
    assert.deepEqual(stored.sort(), ['empty_report', 'help'], 'INFO and an empty LAPORYAI are logged with their kind');
    for (let i = 0; i < k_citizens; i++) {
      assert.ok(!daemon.lines.some((l) => l.includes(msisdn(i))), `${msisdn(i)} never appears unmasked`);
    }
  });
});
