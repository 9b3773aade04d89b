// Secrets given only through systemd credentials (issue 14): the config names
// them ([[smsc]] password_credential, [upstream] token_credential) and the
// daemon reads $CREDENTIALS_DIRECTORY/NAME, as under the shipped unit's
// LoadCredential=smpp-password:… and LoadCredential=lapor-token:…. The SMSC
// simulator accepts the bind only with that password and the API double the
// post only with that token; a report goes end to end; neither secret is ever
// in the daemon's log; laporctl works without the credentials; and a missing
// $CREDENTIALS_DIRECTORY or credential refuses the start, naming the key.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { SmscSimulator } from '../peers/smsc-sim.mjs';
import { ApiDouble } from '../peers/api-double.mjs';
import {
  laporctl, makeWorkdir, sleep, startDaemon, templateRegex, waitFor, writeConfig,
} from './harness.mjs';

const k_password = 'Cr3d-Pw7';                         // SMPP passwords are at most 8 characters
const k_token = 'lapor-token-from-systemd-5f1c9e2a';

const k_no_systemd = Object.freeze({
  NOTIFY_SOCKET: undefined, WATCHDOG_USEC: undefined, WATCHDOG_PID: undefined, JOURNAL_STREAM: undefined,
});

// A credentials directory as systemd makes it: one file per id, mode 0400.
async function makeCredentials(dir, secrets) {
  await mkdir(dir, { mode: 0o700 });
  for (const [name, value] of Object.entries(secrets)) {
    const file = path.join(dir, name);
    await writeFile(file, value, { mode: 0o400 });
    await chmod(file, 0o400);
  }
  return dir;
}

// A config that names the two credentials and holds no secret itself.
async function credentialConfig(dir, { sim, api }) {
  const configPath = await writeConfig(dir, {
    smscPort: sim.port,
    apiUrl: api.url,
    smsc: { password: undefined, password_credential: 'smpp-password' },
    upstream: { token: undefined, token_credential: 'lapor-token' },
  });
  const text = await readFile(configPath, 'utf8');
  assert.ok(!text.includes(k_password) && !text.includes(k_token), 'the config file holds no secret');
  assert.match(text, /^password_credential = "smpp-password"$/m);
  assert.match(text, /^token_credential = "lapor-token"$/m);
  return configPath;
}

async function startPeers(wd) {
  const sim = new SmscSimulator({ logger: wd.logger, password: k_password });
  await sim.start();
  wd.defer(() => sim.stop());
  const api = new ApiDouble({ logger: wd.logger, token: k_token });
  await api.start();
  wd.defer(() => api.stop());
  return { sim, api };
}

test('secrets only through $CREDENTIALS_DIRECTORY: the bind uses the password, the API gets the token, '
  + 'a report goes end to end, the log holds neither', { timeout: 90000 }, async () => {
  const wd = await makeWorkdir('credentials');
  await wd.run(async () => {
    const { sim, api } = await startPeers(wd);
    const credentials = await makeCredentials(path.join(wd.path, 'credentials'),
      { 'smpp-password': `${k_password}\n`, 'lapor-token': `${k_token}\n` });
    const configPath = await credentialConfig(wd.path, { sim, api });
    assert.equal(process.env.CREDENTIALS_DIRECTORY, undefined,
      'the test runner has no credentials of its own: only the daemon gets them');

    const daemon = await startDaemon(configPath, {
      workdir: wd, env: { ...k_no_systemd, CREDENTIALS_DIRECTORY: credentials },
    });
    // The simulator refuses a bind whose password is not k_password.
    const bind = await waitFor(() => sim.bindAttempts.find((a) => a.ok), {
      timeoutMs: 15000, daemon, what: () => `a bind with the credential's password (${sim.bindAttempts.length} attempts)`,
    });
    assert.equal(bind.systemId, 'laporsms');
    assert.deepEqual(sim.bindAttempts.filter((a) => !a.ok), [], 'no bind was refused');

    const from = '6281234500077';
    const text = 'lampu jalan padam di Jl. Merdeka sejak tiga malam';
    const ack = await sim.sendMo({ from, text: `LAPORYAI ${text}`, timeoutMs: 15000 });
    assert.equal(ack.status, 0, 'deliver_sm_resp is ESME_ROK');

    // The API double answers 401 to any other token: one accepted post is the proof.
    await api.waitForPosts(1, { timeoutMs: 20000 });
    assert.equal(api.posts.length, 1);
    assert.equal(api.posts[0].token, k_token, 'the post carries the credential\'s token');
    assert.equal(api.posts[0].telpon, from);
    assert.equal(api.posts[0].isi, text);

    const forwardedRe = templateRegex('forwarded');
    const receivedRe = templateRegex('received');
    await waitFor(() => {
      const texts = sim.messagesTo(from).filter((m) => m.complete).map((m) => m.text);
      return texts.some((t) => receivedRe.test(t)) && texts.some((t) => forwardedRe.test(t));
    }, { timeoutMs: 20000, daemon, what: () => `the received and forwarded replies to ${from}` });

    // laporctl reads the same config without the credentials (Secrets::skip).
    const status = await laporctl(configPath, ['--json', 'status'], { env: { CREDENTIALS_DIRECTORY: undefined } });
    assert.equal(status.json.daemon, 'running', `laporctl status without credentials; stderr: ${status.stderr}`);
    const reports = await laporctl(configPath, ['--json', 'reports']);
    assert.equal(reports.json.length, 1);
    assert.equal(reports.json[0].state, 'forwarded');

    const exit = await daemon.stop();
    assert.equal(exit.code, 0, 'SIGTERM: exit 0');
    const log = daemon.lines.join('\n'); // log_level = "debug": every line there is
    assert.match(log, /smsc: bound link=\S+ bind=\S+ peer=127\.0\.0\.1:\d+ system_id=laporsms$/m, 'the log tells of the bind');
    assert.match(log, /upstream: report forwarded ref=\S+ msisdn=\d+\*+\d+ tracking_id=\S+/, 'the log tells of the post');
    assert.ok(!log.includes(k_password), 'the SMPP password is never in the log');
    assert.ok(!log.includes(k_token), 'the API token is never in the log');
    assert.ok(!(status.stdout + status.stderr + reports.stdout).includes(k_token), 'nor in laporctl output');
  });
});

test('without $CREDENTIALS_DIRECTORY, or without the credential file, the daemon refuses, naming the key',
  { timeout: 60000 }, async () => {
    const wd = await makeWorkdir('credentials_missing');
    await wd.run(async () => {
      const { sim, api } = await startPeers(wd);
      const configPath = await credentialConfig(wd.path, { sim, api });
      const text = await readFile(configPath, 'utf8');
      const lineOf = (regex) => text.split('\n').findIndex((l) => regex.test(l)) + 1;
      const passwordKey = `${configPath}:${lineOf(/^password_credential = /)}: key 'smsc[0].password_credential': `;
      const tokenKey = `${configPath}:${lineOf(/^token_credential = /)}: key 'upstream.token_credential': `;

      const refused = async (env, what) => {
        const daemon = await startDaemon(configPath, { workdir: wd, env: { ...k_no_systemd, ...env } });
        const exit = await Promise.race([daemon.exited, sleep(10000).then(() => 'timeout')]);
        assert.notEqual(exit, 'timeout', `${what}: the daemon refuses within 10 s`);
        assert.equal(exit.code, 2, `${what}: exit 2; stderr: ${daemon.lines.join(' | ')}`);
        return daemon.lines;
      };

      const noDirectory = await refused({ CREDENTIALS_DIRECTORY: undefined }, 'no $CREDENTIALS_DIRECTORY');
      assert.equal(noDirectory.length, 2, `two faults: ${noDirectory.join(' | ')}`);
      assert.ok(noDirectory[0].startsWith(passwordKey) && /CREDENTIALS_DIRECTORY is not set/.test(noDirectory[0]),
        noDirectory[0]);
      assert.ok(noDirectory[1].startsWith(tokenKey) && /LoadCredential=lapor-token:/.test(noDirectory[1]),
        noDirectory[1]);

      const credentials = await makeCredentials(path.join(wd.path, 'credentials'),
        { 'smpp-password': `${k_password}\n` });
      const noToken = await refused({ CREDENTIALS_DIRECTORY: credentials }, 'no lapor-token credential');
      assert.equal(noToken.length, 1, `one fault: ${noToken.join(' | ')}`);
      assert.ok(noToken[0].startsWith(tokenKey), noToken[0]);
      assert.match(noToken[0], /credential 'lapor-token' is not in \$CREDENTIALS_DIRECTORY/);

      // systemd's SetCredential=lapor-token: fallback leaves an empty file.
      await rm(path.join(credentials, 'lapor-token'), { force: true });
      await writeFile(path.join(credentials, 'lapor-token'), '', { mode: 0o400 });
      const empty = await refused({ CREDENTIALS_DIRECTORY: credentials }, 'an empty lapor-token credential');
      assert.equal(empty.length, 1, `one fault: ${empty.join(' | ')}`);
      assert.ok(empty[0].startsWith(tokenKey) && /is empty/.test(empty[0]), empty[0]);
      await rm(credentials, { recursive: true, force: true });

      await sleep(200);
      assert.equal(sim.connections, 0, 'no refused daemon dialled the SMSC');
      assert.equal(api.requests.length, 0, 'no refused daemon posted anything');
      for (const line of [...noDirectory, ...noToken, ...empty]) {
        assert.ok(!line.includes(k_password) && !line.includes(k_token), `no secret in: ${line}`);
      }
    });
  });
