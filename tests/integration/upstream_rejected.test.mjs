// Issue 6: the API rejects a report for good: a 400, or a 200 whose body has
// no tracking id. The report is failed and held for an operator: not retried on
// its own, the citizen gets the `failed` reply once, `laporctl status` counts
// it. `laporctl retry REF` requeues it, and once the API is fixed it is
// forwarded and the citizen gets the `forwarded` reply.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { fillTemplate, laporctl, makeWorkdir, sleep, startStack, waitFor } from './harness.mjs';
import {
  ctlReport, ctlStatus, fileReportAndGetRef, k_fast_upstream, repliesOf, waitForReplies,
} from './upstream_util.mjs';

const k_faults = ['bad-request', 'no-trackingid'];

function msisdn(i) {
  return `62813900000${i}`;
}

function reportText(i) {
  return `pungutan liar di loket pelayanan KTP kantor kecamatan, kasus ${i}`;
}

for (const adapter of ['lapor-xml', 'rest-json']) {
  test(`${adapter}: a rejected report fails once, waits for an operator, and goes through after laporctl retry`,
    { timeout: 60000 }, async (t) => {
      const wd = await makeWorkdir(`upstream_rejected_${adapter}`);
      await wd.run(async () => {
        const { sim, api, daemon, configPath } = await startStack(wd, {
          api: { adapter },
          config: { upstream: { ...k_fast_upstream, adapter } },
        });
        const refs = [];
        for (const [i, fault] of k_faults.entries()) {
          // The fault stays on while this report is tried, so a retry would meet it too.
          api.setMode(fault);
          refs.push(await fileReportAndGetRef(sim, msisdn(i), reportText(i), { daemon }));
          const [failed] = await waitForReplies(sim, msisdn(i), 'failed', { daemon });
          assert.equal(failed.text, fillTemplate('failed', { ref: refs[i] }));
        }
        // Time for a retry or a second reply, which must not come.
        await sleep(1500);

        assert.equal(api.posts.length, 0, 'the API took no report');
        for (const [i, fault] of k_faults.entries()) {
          const requests = api.requestsFor({ telpon: msisdn(i) });
          assert.equal(requests.length, 1, `${fault}: tried once, not retried (${requests.length} POSTs)`);
          assert.equal(requests[0].mode, fault);
          assert.equal(requests[0].status, fault === 'bad-request' ? 400 : 200);
          assert.deepEqual(sim.messagesTo(msisdn(i)).map((m) => m.text),
            [fillTemplate('received', { ref: refs[i] }), fillTemplate('failed', { ref: refs[i] })],
            `${fault}: the citizen got received and failed, once each`);
          const report = await ctlReport(configPath, refs[i]);
          assert.equal(report.state, 'failed', `${fault}: the report is failed`);
          assert.equal(report.tracking_id, null);
          assert.equal(report.upstream_job?.state, 'failed');
          assert.deepEqual(report.attempts.map((a) => a.outcome), ['rejected']);
          t.diagnostic(`${fault}: recorded error ${JSON.stringify(report.attempts[0].error)}`);
          assert.ok(report.attempts[0].error, `${fault}: the reason is stored`);
        }
        assert.ok(daemon.lines.some((l) => l.includes(refs[0]) && /failed/.test(l) && /laporctl retry/.test(l)),
          'the log tells operators what to do');
        const status = await ctlStatus(configPath);
        assert.equal(status.json.queues.upstream_failed, k_faults.length, 'laporctl status counts the failed reports');
        assert.equal(status.code, 2, 'failed reports make laporctl status critical');

        // The operator fixes the API side and retries each report.
        api.setMode('ok');
        for (const ref of refs) {
          const retry = await laporctl(configPath, ['retry', ref]);
          assert.equal(retry.code, 0, `laporctl retry ${ref}: ${retry.stdout} ${retry.stderr}`);
        }
        await api.waitForPosts(k_faults.length, { timeoutMs: 10000 });
        for (const [i, fault] of k_faults.entries()) {
          const [forwarded] = await waitForReplies(sim, msisdn(i), 'forwarded', { daemon });
          const post = api.posts.find((p) => p.telpon === msisdn(i));
          assert.equal(post.isi, reportText(i));
          assert.equal(forwarded.text, fillTemplate('forwarded', { ref: refs[i], tracking_id: post.trackingId }),
            `${fault}: forwarded after the retry`);
        }
        await sleep(500);
        assert.equal(api.posts.length, k_faults.length, 'each report was taken once');
        for (const [i, fault] of k_faults.entries()) {
          assert.equal(repliesOf(sim, msisdn(i), 'failed').length, 1, `${fault}: one failed reply in all`);
          assert.equal(sim.messagesTo(msisdn(i)).length, 3, `${fault}: received, failed, forwarded`);
          const report = await ctlReport(configPath, refs[i]);
          assert.equal(report.state, 'forwarded');
          assert.deepEqual(report.attempts.map((a) => a.outcome), ['rejected', 'delivered']);
        }
        await waitFor(async () => (await ctlStatus(configPath)).code === 0, {
          timeoutMs: 5000, daemon, what: 'laporctl status healthy after the retries',
        });
        const after = await ctlStatus(configPath);
        assert.equal(after.json.queues.upstream_failed, 0);
        assert.equal(after.upstream.state, 'ok');
      });
    });
}

// A 200 that is not the API's content at all (a proxy's HTML page during
// maintenance) is no answer from the API: the report is tried again, not
// failed, and the citizen is never told it failed.
for (const adapter of ['lapor-xml', 'rest-json']) {
  test(`${adapter}: a maintenance page is temporary, the report goes through afterwards`,
    { timeout: 60000 }, async () => {
      const wd = await makeWorkdir(`upstream_maintenance_${adapter}`);
      await wd.run(async () => {
        const { sim, api, daemon, configPath } = await startStack(wd, {
          api: { adapter },
          config: { upstream: { ...k_fast_upstream, adapter } },
        });
        api.setMode('wrong-content-type', { count: 2 });
        const ref = await fileReportAndGetRef(sim, msisdn(7), reportText(7), { daemon });
        const [forwarded] = await waitForReplies(sim, msisdn(7), 'forwarded', { daemon });
        const post = api.posts.find((p) => p.telpon === msisdn(7));
        assert.equal(forwarded.text, fillTemplate('forwarded', { ref, tracking_id: post.trackingId }));
        assert.equal(repliesOf(sim, msisdn(7), 'failed').length, 0, 'no failed reply');
        const report = await ctlReport(configPath, ref);
        assert.equal(report.state, 'forwarded');
        assert.deepEqual(report.attempts.map((a) => a.outcome), ['temporary', 'temporary', 'delivered']);
        assert.equal(api.posts.length, 1, 'taken once');
        assert.deepEqual(await daemon.stop({ timeoutMs: 20000 }), { code: 0, signal: null });
      });
    });
}
