// Issue 3: SMPP over TLS. With [[smsc]] tls = true the daemon wraps the
// connection in TLS and, by default (tls_verify = true), verifies the SMSC's
// certificate and host name. The simulator serves TLS with a certificate from
// a CA made for the test. With that CA as ca_file the link binds and a report
// makes its round trip over the TLS session; without it (an unknown CA) or
// with a certificate for another host name, the daemon refuses the handshake,
// never sends a bind, says why in its log and in `laporctl status`, and keeps
// running; trusting the CA afterwards (a restart with ca_file) binds to the
// very same simulator. tls_verify = false accepts the unknown CA. In every
// run the SMPP password, which does go out in the bind, is never logged.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { makeTestCertificates } from '../peers/api-double.mjs';
import {
  fillTemplate, laporctl, makeWorkdir, startDaemon, startStack, templateRegex, waitFor, writeConfig,
} from './harness.mjs';
import { ctlReport, logText } from './upstream_util.mjs';

// What the daemon sends in bind_transceiver and the simulator requires (SMPP
// allows 8 octets); distinctive, to look for in the log.
const k_password = 'Tq4#vL9z';

// A CA made for the test in `wd`/`name` and a server certificate it signed,
// for `altNames` (default localhost and 127.0.0.1, the address the daemon dials).
async function testCertificates(wd, name, altNames) {
  const files = await makeTestCertificates(path.join(wd.path, name), {
    altNames, caName: `laporsms ${name} CA`,
  });
  const [key, cert] = await Promise.all([readFile(files.keyFile), readFile(files.certFile)]);
  return { ...files, key, cert };
}

// The simulator serving TLS with `certs`; the daemon's link with `tls = true`
// and `link` keys on top (ca_file, tls_verify).
function tlsStack(wd, certs, link, { waitForBind = true } = {}) {
  return startStack(wd, {
    smsc: { password: k_password, tls: { key: certs.key, cert: certs.cert } },
    config: { password: k_password, smsc: { tls: true, ...link } },
    waitForBind,
  });
}

// The daemon's lines about a failed connection to the SMSC.
function connectFailures(daemon) {
  return daemon.lines.filter((l) => /smsc: cannot connect link=sim .*error="(connect to|TLS handshake with) 127\.0\.0\.1:\d+ failed/.test(l));
}

// The password appears nowhere in what `daemon` wrote (stderr as written to
// disk, stdout) nor in `laporctl status`.
async function assertPasswordNotShown(daemon, configPath, what) {
  const text = await logText(daemon);
  assert.ok(text.length > 0, `${what}: the daemon wrote a log`);
  assert.ok(!text.includes(k_password), `${what}: the SMPP password is not in the daemon's log`);
  assert.ok(!daemon.stdoutLines.some((l) => l.includes(k_password)), `${what}: nor on its stdout`);
  for (const args of [['--json', 'status'], ['status']]) {
    const status = await laporctl(configPath, args);
    assert.ok(!status.stdout.includes(k_password) && !status.stderr.includes(k_password),
      `${what}: laporctl ${args.join(' ')} does not show the password`);
  }
}

// Every session the simulator had came out of a completed TLS handshake of TLS 1.2 or later.
function assertSessionsOverTls(sim) {
  assert.ok(sim.secure, 'the simulator serves TLS');
  assert.ok(sim.connections >= 1, 'the daemon connected');
  assert.equal(sim.tlsHandshakes.length, sim.connections, 'each SMPP session followed a TLS handshake');
  for (const handshake of sim.tlsHandshakes) {
    assert.match(handshake.protocol, /^TLSv1\.[23]$/, `negotiated ${handshake.protocol}`);
  }
}

// `from` files a report over the bound TLS session; waits until the report
// is upstream and both replies came back over the same session. Resolves
// {ref, post}.
async function reportRoundTrip({ sim, api, daemon }, from, text) {
  const postsBefore = api.posts.length;
  const mo = await sim.sendMo({ from, text: `LAPORYAI ${text}`, timeoutMs: 10000 });
  assert.equal(mo.status, 0, 'the deliver_sm is acknowledged with ESME_ROK');
  await api.waitForPosts(postsBefore + 1, { timeoutMs: 15000 });
  const post = api.posts.find((p) => p.telpon === from);
  assert.ok(post, `a post for ${from}`);
  assert.equal(post.isi, text, 'the exact text reached the API');
  await waitFor(() => sim.messagesTo(from).filter((m) => m.complete).length >= 2, {
    timeoutMs: 15000, daemon,
    what: () => `2 replies to ${from} (${JSON.stringify(sim.messagesTo(from).map((m) => m.text))})`,
  });
  const messages = sim.messagesTo(from);
  assert.equal(messages.length, 2, `exactly 2 replies: ${JSON.stringify(messages.map((m) => m.text))}`);
  const match = templateRegex('received').exec(messages[0].text);
  assert.ok(match, `the first reply is 'received': ${JSON.stringify(messages[0].text)}`);
  const { ref } = match.groups;
  assert.equal(messages[1].text, fillTemplate('forwarded', { ref, tracking_id: post.trackingId }),
    'the second reply names the tracking id');
  const bound = sim.boundSessions();
  assert.equal(bound.length, 1, 'one bound session');
  const submits = sim.submits.filter((s) => s.destination === from);
  assert.ok(submits.length >= 2, 'the replies came as submit_sm');
  for (const submit of submits) {
    assert.equal(submit.sessionIndex, bound[0].sessionIndex, 'each reply came over the bound TLS session');
    assert.equal(submit.status, 0);
    assert.equal(submit.source, '1708');
  }
  return { ref, post };
}

test('TLS with the test CA as ca_file binds and carries a report both ways', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('smpp_tls_ok');
  await wd.run(async () => {
    const certs = await testCertificates(wd, 'smsc');
    const stack = await tlsStack(wd, certs, { ca_file: certs.caFile });
    const { sim, daemon, configPath } = stack;

    const [bind] = sim.bindAttempts;
    assert.equal(bind.command, 'bind_transceiver');
    assert.equal(bind.systemId, 'laporsms');
    assert.equal(bind.ok, true, 'the bind with the configured password is accepted');
    assert.deepEqual(sim.tlsErrors, [], 'no failed handshakes');
    assertSessionsOverTls(sim);

    const citizen = '6281388800001';
    const text = 'lampu lalu lintas mati di perempatan Jl. Sudirman sejak kemarin';
    const { ref, post } = await reportRoundTrip(stack, citizen, text);

    // The operator's view: the database holds the report, forwarded, and both replies.
    const reports = await laporctl(configPath, ['--json', 'reports']);
    assert.equal(reports.code, 0, `laporctl reports exit code; stderr: ${reports.stderr}`);
    assert.equal(reports.json.length, 1);
    assert.equal(reports.json[0].ref, ref);
    assert.equal(reports.json[0].msisdn, citizen);
    assert.equal(reports.json[0].state, 'forwarded');
    assert.equal(reports.json[0].tracking_id, post.trackingId);
    assert.equal(reports.json[0].text, text);
    const report = await waitFor(async () => {
      const r = await ctlReport(configPath, ref);
      return r.replies.length === 2 && r.replies.every((x) => x.state === 'submitted') ? r : null;
    }, { timeoutMs: 5000, daemon, what: `both replies of ${ref} marked submitted` });
    assert.deepEqual(report.replies.map((r) => r.kind), ['received', 'forwarded']);
    const inbound = await laporctl(configPath, ['--json', 'messages', '--direction', 'in']);
    assert.deepEqual(inbound.json.map((m) => [m.msisdn, m.link]), [[citizen, 'sim']], 'one MO stored, from link sim');

    const status = await laporctl(configPath, ['--json', 'status']);
    assert.equal(status.code, 0, `laporctl status is healthy: ${status.stdout}`);
    assert.equal(status.json.links[0].state, 'bound');
    assert.equal(status.json.links[0].last_error, null);
    assert.deepEqual(sim.protocolErrors, [], 'well-formed PDUs through TLS');
    assert.equal(sim.bindAttempts.length, 1, 'one bind: the TLS session stayed up');
    assert.equal(connectFailures(daemon).length, 0, 'no failed connection in the log');

    // SIGTERM: unbind over TLS, exit 0.
    const exit = await daemon.stop({ timeoutMs: 20000 });
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.equal(sim.unbinds.length, 1, 'the daemon unbinds over the TLS session before it exits');
    await assertPasswordNotShown(daemon, configPath, 'TLS with ca_file');
  });
});

test('TLS from an unknown CA is refused before any bind, and trusted once it is ca_file',
  { timeout: 60000 }, async (t) => {
    const wd = await makeWorkdir('smpp_tls_unknown_ca');
    await wd.run(async () => {
      const certs = await testCertificates(wd, 'smsc');
      // tls_verify left at its default; no ca_file: the system store does not know the test CA.
      const stack = await tlsStack(wd, certs, {}, { waitForBind: false });
      const { sim, api, daemon, configPath } = stack;

      await waitFor(() => sim.tlsErrors.length >= 3 && connectFailures(daemon).length >= 3, {
        timeoutMs: 15000, daemon,
        what: () => `3 refused handshakes (simulator saw ${sim.tlsErrors.length}, ` +
          `log has ${connectFailures(daemon).length})`,
      });
      daemon.assertRunning('the refused handshakes');
      assert.equal(sim.connections, 0, 'no SMPP session was ever established');
      assert.deepEqual(sim.tlsHandshakes, [], 'no handshake completed');
      assert.deepEqual(sim.bindAttempts, [], 'no bind reached the simulator: the password never left');
      for (const error of sim.tlsErrors) {
        assert.equal(error.code, 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
          `the daemon aborted the handshake with an unknown_ca alert: ${error.message}`);
      }

      const failures = connectFailures(daemon);
      t.diagnostic(`log: ${failures[0]}`);
      assert.ok(failures.every((l) => /TLS handshake with .* failed: certificate verify failed \(unable to get local issuer certificate\)/.test(l)),
        `each failed attempt's log line names TLS and OpenSSL's reason:\n${failures.join('\n')}`);
      assert.ok(failures.every((l) => l.includes(`:${sim.port} `)), 'and names the SMSC address');

      const status = await laporctl(configPath, ['--json', 'status']);
      assert.equal(status.json.daemon, 'running');
      const [link] = status.json.links;
      assert.notEqual(link.state, 'bound', `link state while the certificate is refused: ${link.state}`);
      assert.match(link.last_error ?? '', /certificate verify failed/i, 'laporctl status shows the certificate error');
      assert.equal(status.code, 1, `laporctl status exits 1 (degraded) while the link is down: ${status.stdout}`);

      // No TLS session, no traffic: nothing reached the API.
      assert.equal(api.posts.length, 0);

      const exit = await daemon.stop({ timeoutMs: 20000 });
      assert.deepEqual(exit, { code: 0, signal: null }, 'a link that never came up does not stop a clean exit');
      await assertPasswordNotShown(daemon, configPath, 'unknown CA');

      // Trust the test CA: the same simulator, the same database, a restart.
      await writeConfig(wd.path, {
        smscPort: sim.port, apiUrl: api.url, apiToken: api.token, password: k_password,
        smsc: { tls: true, ca_file: certs.caFile },
      });
      const refusedHandshakes = sim.tlsErrors.length;
      const trusted = await startDaemon(configPath, { workdir: wd });
      await sim.waitForBind({ timeoutMs: 15000 });
      assert.equal(sim.tlsErrors.length, refusedHandshakes, 'no handshake refused after the restart');
      assertSessionsOverTls(sim);
      await reportRoundTrip({ sim, api, daemon: trusted }, '6281388800002',
        'saluran air tersumbat di Jl. Merdeka, banjir tiap hujan');
      assert.equal(connectFailures(trusted).length, 0, 'no failed connection after the restart');
      const exit2 = await trusted.stop({ timeoutMs: 20000 });
      assert.deepEqual(exit2, { code: 0, signal: null });
      await assertPasswordNotShown(trusted, configPath, 'unknown CA, then ca_file');
    });
  });

test('TLS with a certificate for another host name is refused', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('smpp_tls_wrong_host');
  await wd.run(async () => {
    // Signed by the CA we trust, but for smsc.lapor.example, while the daemon dials 127.0.0.1.
    const certs = await testCertificates(wd, 'smsc', ['DNS:smsc.lapor.example']);
    const { sim, daemon, configPath } = await tlsStack(wd, certs, { ca_file: certs.caFile }, { waitForBind: false });
    await waitFor(() => sim.tlsErrors.length >= 2 && connectFailures(daemon).length >= 2, {
      timeoutMs: 15000, daemon, what: () => `2 refused handshakes (simulator saw ${sim.tlsErrors.length})`,
    });
    assert.equal(sim.connections, 0, 'no SMPP session was established');
    assert.deepEqual(sim.bindAttempts, [], 'no bind reached the simulator');
    const failures = connectFailures(daemon);
    assert.ok(failures.every((l) => /TLS handshake with .* failed: certificate verify failed \(IP address mismatch\)/.test(l)),
      `each failed attempt's log line names TLS and the address mismatch (the daemon dials 127.0.0.1):\n${failures.join('\n')}`);
    const status = await laporctl(configPath, ['--json', 'status']);
    assert.notEqual(status.json.links[0].state, 'bound');
    assert.match(status.json.links[0].last_error ?? '', /certificate/i);
    const exit = await daemon.stop({ timeoutMs: 20000 });
    assert.deepEqual(exit, { code: 0, signal: null });
    await assertPasswordNotShown(daemon, configPath, 'wrong host name');
  });
});

test('tls_verify = false accepts a certificate from an unknown CA', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('smpp_tls_no_verify');
  await wd.run(async () => {
    const certs = await testCertificates(wd, 'smsc');
    const stack = await tlsStack(wd, certs, { tls_verify: false });
    const { sim, daemon, configPath } = stack;
    assert.deepEqual(sim.tlsErrors, []);
    assertSessionsOverTls(sim);
    await reportRoundTrip(stack, '6281388800003', 'pohon tumbang menutup jalan di depan SD Negeri 4');
    assert.equal(sim.bindAttempts.length, 1, 'one bind: the session stayed up');
    assert.equal(connectFailures(daemon).length, 0);
    const exit = await daemon.stop({ timeoutMs: 20000 });
    assert.deepEqual(exit, { code: 0, signal: null });
    await assertPasswordNotShown(daemon, configPath, 'tls_verify = false');
  });
});
