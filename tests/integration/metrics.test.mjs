// The Prometheus endpoint ([metrics] listen, interfaces.md §5): scraped
// during and after a run of known traffic (reports, a help request, an empty
// report, a deliver_sm the daemon must refuse, receipts, an API that answers
// 503 and then 401 once each), its counters must equal what the SMSC
// simulator and the API double saw, its histograms must have cumulative
// buckets, _sum and _count, and the server must keep to its limits (404,
// 405, a few clients at most, a read deadline).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { buildPdu, encodeGsm, Status } from '../peers/smsc-sim.mjs';
import { freePort, makeWorkdir, sleep, startStack, waitFor } from './harness.mjs';
import { sampleValue, samplesOf, scrape } from './metrics_util.mjs';

const k_reports = 6;
const k_deliver_sm = 0x00000005;

// The SMPP 3.4 names (§5.1.3) the daemon labels statuses with; others are hex.
const k_status_names = new Map([
  ...Object.entries(Status).map(([name, value]) => [value, name]),
  [0x0d, 'ESME_RBINDFAIL'], [0x65, 'ESME_RX_P_APPN'], [0xc0, 'ESME_RINVOPTPARSTREAM'], [0xff, 'ESME_RUNKNOWNERR'],
]);
function statusName(status) {
  return k_status_names.get(status) ?? `0x${status.toString(16).toUpperCase().padStart(8, '0')}`;
}

function msisdn(i) {
  return `628129000${String(i).padStart(4, '0')}`;
}

function cstring(text) {
  return Buffer.concat([Buffer.from(text, 'latin1'), Buffer.from([0])]);
}

// A deliver_sm whose last TLV announces 300 octets with 2 left: an intact
// frame with a broken body, which the daemon answers with an error status.
function brokenDeliverSmBody() {
  const message = encodeGsm('INFO');
  return Buffer.concat([
    cstring(''), Buffer.from([1, 1]), cstring('6281290009999'), Buffer.from([0, 0]), cstring('1708'),
    Buffer.from([0, 0, 0]), cstring(''), cstring(''), Buffer.from([0, 0, 0, 0]),
    Buffer.from([message.length]), message,
    Buffer.from([0x04, 0x24, 0x01, 0x2c, 0x41, 0x42]),
  ]);
}

function countBy(items, key) {
  const counts = new Map();
  for (const item of items) {
    const k = key(item);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

// Every histogram of `samples`: per series, buckets cumulative and ending in
// +Inf, which equals _count; a _sum. Returns the number of series checked.
function assertHistograms(samples, types) {
  let checked = 0;
  for (const [name, type] of types) {
    if (type !== 'histogram') {
      continue;
    }
    const buckets = samples.filter((s) => s.name === `${name}_bucket`);
    const series = new Map();
    for (const b of buckets) {
      const { le, ...rest } = b.labels;
      const key = JSON.stringify(rest);
      if (!series.has(key)) {
        series.set(key, { labels: rest, buckets: [] });
      }
      series.get(key).buckets.push({ le: le === '+Inf' ? Infinity : Number(le), value: b.value });
    }
    assert.ok(series.size > 0, `${name} has buckets`);
    for (const { labels, buckets: list } of series.values()) {
      const what = `${name}${JSON.stringify(labels)}`;
      for (let i = 1; i < list.length; i++) {
        assert.ok(list[i].le > list[i - 1].le, `${what}: bucket bounds increase`);
        assert.ok(list[i].value >= list[i - 1].value, `${what}: buckets are cumulative`);
      }
      assert.equal(list.at(-1).le, Infinity, `${what}: the last bucket is +Inf`);
      const count = sampleValue(samples, `${name}_count`, labels);
      const sum = sampleValue(samples, `${name}_sum`, labels);
      assert.equal(list.at(-1).value, count, `${what}: +Inf bucket equals _count`);
      assert.ok(Number.isFinite(sum) && sum >= 0, `${what}: a _sum`);
      checked++;
    }
  }
  return checked;
}

test('metrics: counters equal what the SMSC and the API saw; histograms are whole; the server keeps its limits',
  { timeout: 120000 }, async () => {
    const wd = await makeWorkdir('metrics');
    await wd.run(async () => {
      const port = await freePort();
      const { sim, api, daemon } = await startStack(wd, {
        config: { metrics: { listen: `127.0.0.1:${port}` } },
      });
      const url = `http://127.0.0.1:${port}/metrics`;
      sim.receiptPolicy = () => ({ state: 'DELIVRD', form: 'tlv', delayMs: 0 });
      // The first two report posts get 503: retried, then delivered.
      api.setMode('unavailable', { count: 2 });

      const first = await scrape(url);
      assert.equal(first.status, 200);
      assert.equal(first.contentType, 'text/plain; version=0.0.4; charset=utf-8');
      assert.equal(sampleValue(first.samples, 'laporsms_build_info', { version: '0.1.0' }), 1);
      assert.equal(sampleValue(first.samples, 'laporsms_link_state', { link: 'sim', state: 'bound' }), 1);
      assert.equal(sampleValue(first.samples, 'laporsms_link_state', { link: 'sim', state: 'down' }), 0);

      // Traffic, scraped while it flows.
      const sends = [];
      for (let i = 0; i < k_reports; i++) {
        sends.push(sim.sendMo({ from: msisdn(i), text: `LAPORYAI lampu jalan mati di gang ${i}` }));
      }
      sends.push(sim.sendMo({ from: msisdn(100), text: 'INFO' }));
      sends.push(sim.sendMo({ from: msisdn(101), text: 'LAPORYAI' }));
      const ackedBefore = sim.deliverResponses.filter((r) => r.status === 0).length;
      const during = await scrape(url);
      assert.equal(during.status, 200);
      const ackedDuring = sampleValue(during.samples, 'laporsms_deliver_sm_acknowledged_total', { link: 'sim' });
      assert.ok(ackedDuring >= ackedBefore,
        `mid-run: acknowledged ${ackedDuring} >= the ${ackedBefore} the SMSC had seen before the scrape`);
      const results = await Promise.all(sends);
      assert.deepEqual(results.map((r) => r.status), new Array(k_reports + 2).fill(0));

      // A deliver_sm the daemon cannot read: answered with an error status.
      const badSeq = 0x51000001;
      sim.sendRaw(buildPdu({ commandId: k_deliver_sm, sequence: badSeq, body: brokenDeliverSmBody() }));
      const bad = await sim.waitForResponse(badSeq);
      assert.equal(bad.command, 'deliver_sm_resp');
      assert.notEqual(bad.status, Status.ESME_ROK);

      await api.waitForPosts(k_reports, { timeoutMs: 30000 });
      // One more report while the API refuses our token once: auth_error, retried.
      api.setMode('unauthorized', { count: 1 });
      const late = await sim.sendMo({ from: msisdn(200), text: 'LAPORYAI trotoar rusak di Jl. Merdeka' });
      assert.equal(late.status, 0);
      await api.waitForPosts(k_reports + 1, { timeoutMs: 30000 });
      // Every reply out (2 per report, the help and the empty-report reply),
      // each receipt acknowledged.
      const replies = 2 * (k_reports + 1) + 2;
      await waitFor(() => sim.submits.filter((s) => s.status === 0).length >= replies &&
        sim.receipts.length >= replies && sim.receipts.every((r) => r.status !== null), {
        timeoutMs: 30000, daemon, what: () => `${replies} replies and their receipts (${sim.submits.length} submits, ${sim.receipts.length} receipts)`,
      });

      // The database figures are sampled at most every 5 s: wait for them to settle.
      let after;
      await waitFor(async () => {
        after = await scrape(url);
        return sampleValue(after.samples, 'laporsms_reports', { state: 'forwarded' }) === k_reports + 1 &&
          sampleValue(after.samples, 'laporsms_receipts_total', { link: 'sim', state: 'DELIVRD' }) === sim.receipts.length &&
          sampleValue(after.samples, 'laporsms_replies_total', { link: 'sim', outcome: 'submitted' }) === replies;
      }, { timeoutMs: 20000, intervalMs: 500, daemon, what: 'the scrape to show every report forwarded' });
      const s = after.samples;
      const v = (name, labels = {}) => sampleValue(s, name, labels);

      // deliver_sm as the SMSC saw them: every response it got, by status.
      const deliverAnswers = sim.responses.filter((r) => r.command === 'deliver_sm_resp' ||
        (r.command === 'generic_nack' && r.sequence === badSeq));
      assert.equal(v('laporsms_deliver_sm_received_total', { link: 'sim' }), deliverAnswers.length, 'deliver_sm received');
      const byStatus = countBy(deliverAnswers, (r) => r.status);
      assert.equal(v('laporsms_deliver_sm_acknowledged_total', { link: 'sim' }), byStatus.get(0) ?? 0, 'deliver_sm acknowledged');
      const refused = samplesOf(s, 'laporsms_deliver_sm_refused_total').filter((x) => x.labels.link === 'sim');
      const expectedRefused = [...byStatus].filter(([status]) => status !== 0)
        .map(([status, n]) => [statusName(status), n]).sort();
      assert.deepEqual(refused.map((x) => [x.labels.status, x.value]).sort(), expectedRefused,
        'deliver_sm refused, by status');
      assert.ok(expectedRefused.length >= 1, 'the broken deliver_sm was refused');
      assert.equal(v('laporsms_deliver_sm_ack_duration_seconds_count', { link: 'sim' }), byStatus.get(0),
        'one acknowledgement latency per ESME_ROK');
      // MO by kind (receipts are not MO).
      assert.equal(v('laporsms_mo_total', { link: 'sim', kind: 'report' }), k_reports + 1);
      assert.equal(v('laporsms_mo_total', { link: 'sim', kind: 'help' }), 1);
      assert.equal(v('laporsms_mo_total', { link: 'sim', kind: 'empty_report' }), 1);
      assert.equal(v('laporsms_receipts_total', { link: 'sim', state: 'DELIVRD' }), sim.receipts.length);

      // submit_sm as the SMSC saw them.
      assert.equal(v('laporsms_submit_sm_sent_total', { link: 'sim' }), sim.submits.length, 'submit_sm sent');
      assert.equal(v('laporsms_submit_sm_accepted_total', { link: 'sim' }),
        sim.submits.filter((x) => x.status === 0).length, 'submit_sm accepted');
      assert.deepEqual(samplesOf(s, 'laporsms_submit_sm_refused_total').filter((x) => x.value > 0), [],
        'no submit_sm refused (the simulator refused none)');
      assert.equal(v('laporsms_binds_total', { link: 'sim', outcome: 'bound' }),
        sim.bindAttempts.filter((a) => a.ok).length, 'binds');

      // Upstream requests as the API double saw them, by what it answered.
      const posts = api.requests.filter((r) => r.method === 'POST');
      const byMode = countBy(posts, (r) => r.mode);
      assert.equal(byMode.get('unavailable'), 2);
      assert.equal(byMode.get('unauthorized'), 1);
      assert.equal(v('laporsms_upstream_requests_total', { kind: 'report', outcome: 'temporary' }), byMode.get('unavailable'));
      assert.equal(v('laporsms_upstream_requests_total', { kind: 'report', outcome: 'auth_error' }), byMode.get('unauthorized'));
      assert.equal(v('laporsms_upstream_requests_total', { kind: 'report', outcome: 'delivered' }), byMode.get('ok'));
      assert.equal(v('laporsms_upstream_requests_total', { kind: 'report', outcome: 'delivered' }), k_reports + 1);
      assert.equal(v('laporsms_upstream_request_duration_seconds_count', { kind: 'report' }), posts.length);
      assert.equal(v('laporsms_upstream_state', { state: 'ok' }), 1);

      // Gauges read from the database, and the store's own counts.
      assert.equal(v('laporsms_reports', { state: 'failed' }), 0);
      assert.equal(v('laporsms_reports', { state: 'received' }), 0);
      assert.equal(v('laporsms_oldest_unforwarded_age_seconds'), 0);
      assert.equal(v('laporsms_replies_waiting', { state: 'queued' }), 0);
      assert.ok(v('laporsms_store_commits_total') > 0);
      assert.ok(v('laporsms_store_fsyncs_total', { kind: 'commit' }) > 0);
      assert.ok(v('laporsms_store_fsyncs_total', { kind: 'commit' }) <= v('laporsms_store_commits_total'));

      // Counters never go back between scrapes.
      for (const x of during.samples.filter((y) => during.types.get(y.family) === 'counter')) {
        assert.ok(sampleValue(s, x.name, x.labels) >= x.value, `${x.name} did not go back`);
      }
      assert.ok(assertHistograms(s, after.types) >= 3, 'the histograms were checked (ack per link, upstream per kind)');
      for (const name of ['laporsms_deliver_sm_ack_duration_seconds', 'laporsms_upstream_request_duration_seconds']) {
        assert.equal(after.types.get(name), 'histogram', `${name} is a histogram`);
      }

      // Other paths and methods.
      assert.equal((await scrape(`http://127.0.0.1:${port}/`)).status, 404);
      assert.equal((await scrape(`http://127.0.0.1:${port}/metricsx`)).status, 404);
      assert.equal((await scrape(`${url}?name=x`)).status, 200, 'a query string is ignored');
      const post = await scrape(url, { method: 'POST' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET');

      // At most 4 clients: four silent ones fill the slots; a scraper that
      // comes then closes the one silent longest and is served; the other
      // silent ones are closed at the read deadline (5 s).
      const silent = [];
      for (let i = 0; i < 4; i++) {
        const socket = net.connect(port, '127.0.0.1');
        const closed = new Promise((resolve) => socket.on('close', () => resolve(Date.now())));
        socket.on('error', () => {});
        await new Promise((resolve) => socket.once('connect', resolve));
        silent.push({ socket, closed });
        await sleep(20); // the first is the one silent longest
      }
      await sleep(200);
      const openedAt = Date.now();
      assert.equal((await scrape(url)).status, 200, 'a fifth client is served while four silent ones hold the slots');
      const firstClosedAt = await silent[0].closed;
      assert.ok(firstClosedAt - openedAt < 1000, 'the client silent longest made room for it');
      const closedAt = await Promise.all(silent.slice(1).map((x) => x.closed));
      for (const at of closedAt) {
        assert.ok(at - openedAt > 3000, 'the other silent clients kept their slots until the read deadline');
        assert.ok(at - openedAt < 8000, 'a silent client is closed within the read deadline');
      }
      assert.equal((await scrape(url)).status, 200, 'served again once the silent clients are gone');
      daemon.assertRunning('the scrapes');
      await daemon.stop();
    });
  });
