// Issue 6: the API over HTTPS. The double serves a certificate from a CA made
// for the test. With that CA as [upstream] ca_file the reports go through;
// without it (an unknown CA), or with a certificate for another host name,
// the daemon refuses the connection, forwards nothing, and says why in its
// log. Trusting the CA afterwards (a restart with ca_file) lets the held
// report through to the very same double.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { fillTemplate, makeWorkdir, sleep, startDaemon, startStack, waitFor, writeConfig } from './harness.mjs';
import {
  ctlReport, ctlStatus, fileReportAndGetRef, k_fast_upstream, repliesOf, waitForReplies,
} from './upstream_util.mjs';

function msisdn(i) {
  return `62813600000${i}`;
}

function reportText(i) {
  return `kabel listrik menjuntai rendah di gang ${i}, bahaya untuk anak sekolah`;
}

function tlsStack(wd, { caFile, altNames } = {}) {
  return startStack(wd, {
    api: { tls: { dir: path.join(wd.path, 'tls'), altNames } },
    config: ({ api }) => ({
      upstream: { ...k_fast_upstream, ...(caFile ? { ca_file: api.caFile } : {}) },
    }),
  });
}

// Waits until the daemon has tried `ref` at least twice and checks it got nowhere.
async function assertRefused({ sim, api, daemon, configPath }, ref, number, what) {
  await waitFor(() => daemon.lines.filter((l) => l.includes(ref) && /not forwarded/.test(l)).length >= 2, {
    timeoutMs: 10000, daemon, what: `two failed attempts for ${ref}`,
  });
  assert.equal(api.posts.length, 0, `${what}: nothing reached the API`);
  assert.equal(api.requests.length, 0, `${what}: no HTTP request got through the TLS handshake`);
  assert.ok(api.tlsErrors.length >= 1, `${what}: the double saw the daemon abort the handshake`);
  const report = await ctlReport(configPath, ref);
  assert.notEqual(report.state, 'forwarded');
  assert.equal(report.tracking_id, null);
  assert.equal(repliesOf(sim, number, 'forwarded').length, 0);
  return report;
}

test('HTTPS with the test CA as ca_file forwards the reports', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('upstream_tls_ok');
  await wd.run(async () => {
    const { sim, api, daemon, configPath } = await tlsStack(wd, { caFile: true });
    assert.match(api.url, /^https:\/\//);
    const refs = [];
    for (let i = 0; i < 3; i++) {
      refs.push(await fileReportAndGetRef(sim, msisdn(i), reportText(i), { daemon }));
    }
    await api.waitForPosts(3, { timeoutMs: 15000 });
    for (let i = 0; i < 3; i++) {
      const [forwarded] = await waitForReplies(sim, msisdn(i), 'forwarded', { daemon });
      const post = api.posts.find((p) => p.telpon === msisdn(i));
      assert.equal(post.isi, reportText(i));
      assert.equal(forwarded.text, fillTemplate('forwarded', { ref: refs[i], tracking_id: post.trackingId }));
    }
    assert.equal(api.posts.length, 3);
    assert.deepEqual(api.tlsErrors, [], 'no failed handshakes');
    assert.ok(!daemon.lines.some((l) => /tls|certificate/i.test(l) && /not forwarded/.test(l)),
      'no TLS failure in the log');
    const status = await ctlStatus(configPath);
    assert.equal(status.upstream.state, 'ok');
  });
});

test('HTTPS from an unknown CA is refused with a clear log line, and trusted once it is ca_file',
  { timeout: 60000 }, async (t) => {
    const wd = await makeWorkdir('upstream_tls_unknown_ca');
    await wd.run(async () => {
      const stack = await tlsStack(wd, { caFile: false });
      const { sim, api, daemon, configPath } = stack;
      const ref = await fileReportAndGetRef(sim, msisdn(0), reportText(0), { daemon });
      const report = await assertRefused(stack, ref, msisdn(0), 'unknown CA');

      const lines = daemon.lines.filter((l) => l.includes(ref) && /not forwarded/.test(l));
      t.diagnostic(`log: ${lines[0]}`);
      assert.ok(lines.every((l) => /\btls\b/i.test(l) && /certificate/i.test(l)),
        `each failed attempt's log line names TLS and the certificate:\n${lines.join('\n')}`);
      assert.ok(lines.some((l) => /verify failed|unable to get local issuer|self.signed|unknown ca/i.test(l)),
        `the log line says the certificate could not be verified:\n${lines.join('\n')}`);
      assert.match(report.attempts[0].error ?? '', /certificate/i, 'the stored error names the certificate');
      const status = await ctlStatus(configPath);
      assert.ok(['retrying', 'circuit_open'].includes(status.upstream.state), `state ${status.upstream.state}`);
      assert.match(status.upstream.last_error ?? '', /certificate/i, 'laporctl status shows the certificate error');

      // Trust the test CA: the same double, the same database, a restart.
      const exit = await daemon.stop({ timeoutMs: 20000 });
      assert.deepEqual(exit, { code: 0, signal: null });
      await writeConfig(wd.path, {
        smscPort: sim.port, apiUrl: api.url, apiToken: api.token,
        upstream: { ...k_fast_upstream, ca_file: api.caFile },
      });
      const trusted = await startDaemon(configPath, { workdir: wd });
      await sim.waitForBind({ count: 2, timeoutMs: 15000 });
      await api.waitForPosts(1, { timeoutMs: 15000 });
      const [forwarded] = await waitForReplies(sim, msisdn(0), 'forwarded', { daemon: trusted });
      assert.equal(api.posts[0].isi, reportText(0));
      assert.equal(forwarded.text, fillTemplate('forwarded', { ref, tracking_id: api.posts[0].trackingId }));
      await sleep(300);
      assert.equal(api.posts.length, 1);
    });
  });

test('HTTPS with a certificate for another host name is refused with a clear log line',
  { timeout: 60000 }, async (t) => {
    const wd = await makeWorkdir('upstream_tls_wrong_host');
    await wd.run(async () => {
      // Signed by the CA we trust, but for api.lapor.example, while the URL says 127.0.0.1.
      const stack = await tlsStack(wd, { caFile: true, altNames: ['DNS:api.lapor.example'] });
      const { sim, daemon } = stack;
      const ref = await fileReportAndGetRef(sim, msisdn(1), reportText(1), { daemon });
      await assertRefused(stack, ref, msisdn(1), 'wrong host name');
      const lines = daemon.lines.filter((l) => l.includes(ref) && /not forwarded/.test(l));
      t.diagnostic(`log: ${lines[0]}`);
      assert.ok(lines.every((l) => /\btls\b/i.test(l) && /certificate|host ?name/i.test(l)),
        `each failed attempt's log line names TLS and the certificate or host name:\n${lines.join('\n')}`);
    });
  });
