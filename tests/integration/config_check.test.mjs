// laporsmsd --check-config names every fault of a file in one run (issue 14):
// five faults of five kinds, each as PATH:LINE: key '…': …, exit 2, and a
// daemon started on that file refuses the same way, dialling nothing. Risky
// settings (an inline secret in a file others can read, a token over http://
// to another host, tls_verify = false) are warnings: --check-config prints
// them and exits 0, and the daemon logs them at warning level when it starts,
// never with the secret.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { SmscSimulator } from '../peers/smsc-sim.mjs';
import { ApiDouble } from '../peers/api-double.mjs';
import { makeWorkdir, runProgram, sleep, startDaemon, waitFor, writeConfig } from './harness.mjs';

function daemonBin() {
  const bin = process.env.LAPORSMSD;
  if (!bin) {
    throw new Error('LAPORSMSD is not set: it names the laporsmsd binary to test');
  }
  return bin;
}

// The test runner's environment without what would point the daemon at the
// real service manager, journal, credentials or configuration.
function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const name of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'JOURNAL_STREAM', 'LAPORSMS_CONFIG',
    'CREDENTIALS_DIRECTORY']) {
    delete env[name];
  }
  return { ...env, ...extra };
}

const k_no_systemd = Object.freeze({
  NOTIFY_SOCKET: undefined, WATCHDOG_USEC: undefined, WATCHDOG_PID: undefined, JOURNAL_STREAM: undefined,
  CREDENTIALS_DIRECTORY: undefined,
});

// The 1-based number of the only line of `text` that `regex` matches.
function lineNumberOf(text, regex) {
  const numbers = text.split('\n').flatMap((l, i) => (regex.test(l) ? [i + 1] : []));
  assert.equal(numbers.length, 1, `exactly one line of the config matches ${regex}`);
  return numbers[0];
}

function escapeRegex(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function startWitnesses(wd, { sim: simOptions = {}, api: apiOptions = {} } = {}) {
  const sim = new SmscSimulator({ logger: wd.logger, ...simOptions });
  await sim.start();
  wd.defer(() => sim.stop());
  const api = new ApiDouble({ logger: wd.logger, ...apiOptions });
  await api.start();
  wd.defer(() => api.stop());
  return { sim, api };
}

test('five faults in one file: --check-config prints five PATH:LINE: key lines and exits 2; the daemon refuses alike',
  { timeout: 60000 }, async () => {
    const wd = await makeWorkdir('config_check_five');
    await wd.run(async () => {
      const { sim, api } = await startWitnesses(wd);
      const configPath = await writeConfig(wd.path, {
        smscPort: sim.port,
        apiUrl: api.url,
        smsc: { port: 99999, enquire_link_intervall: '30s' },
        upstream: { url: 'https://user@lapor.example.go.id/api/stream/addstream', timeout: '15' },
        replies: { received: 'Terima kasih {nama}, laporan Anda bernomor {ref}.' },
      });
      const text = await readFile(configPath, 'utf8');
      // writeConfig's own enquire_link_interval stays: the misspelt key is one more.
      const expected = [
        { line: lineNumberOf(text, /^port = 99999$/), key: 'smsc[0].port', says: /between 1 and 65535/ },
        { line: lineNumberOf(text, /^enquire_link_intervall = /), key: 'smsc[0].enquire_link_intervall',
          says: /unknown setting \(did you mean 'enquire_link_interval'\?\)/ },
        { line: lineNumberOf(text, /^url = "https:\/\/user@/), key: 'upstream.url', says: /user info/ },
        { line: lineNumberOf(text, /^timeout = "15"$/), key: 'upstream.timeout', says: /not a duration/ },
        { line: lineNumberOf(text, /^received = /), key: 'replies.received', says: /unknown placeholder \{nama\}/ },
      ].sort((a, b) => a.line - b.line);

      const checkFaults = (output, who) => {
        const lines = output.split('\n').filter(Boolean);
        assert.equal(lines.length, 5, `${who}: five lines, one per fault; got:\n${output}`);
        expected.forEach((fault, i) => {
          const start = `${configPath}:${fault.line}: key '${fault.key}': `;
          assert.ok(lines[i].startsWith(start), `${who}: line ${i + 1} starts with ${start}; got: ${lines[i]}`);
          assert.match(lines[i].slice(start.length), fault.says, `${who}: what is wrong with ${fault.key}`);
        });
        assert.doesNotMatch(output, /secret|test-token/, `${who}: no secret in the output`);
      };

      const checked = await runProgram(daemonBin(), ['--check-config', '--config', configPath], { env: cleanEnv() });
      assert.equal(checked.code, 2, `--check-config exit status; stderr: ${checked.stderr}`);
      assert.equal(checked.stdout, '', '--check-config prints nothing on stdout for a faulty file');
      checkFaults(checked.stderr, '--check-config');

      const daemon = await startDaemon(configPath, { workdir: wd, env: k_no_systemd });
      const exit = await Promise.race([daemon.exited, sleep(10000).then(() => 'timeout')]);
      assert.notEqual(exit, 'timeout', 'the daemon refuses to start within 10 s');
      assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 2, signal: null },
        `the daemon with five faults exits 2; stderr: ${daemon.lines.join(' | ')}`);
      checkFaults(daemon.lines.join('\n'), 'laporsmsd');
      await sleep(200);
      assert.equal(sim.connections, 0, 'nothing dialled the SMSC');
      assert.equal(api.requests.length, 0, 'nothing posted upstream');
      await assert.rejects(stat(path.join(wd.path, 'laporsms.db')), { code: 'ENOENT' }, 'no database created');
    });
  });

test('a fixed file passes: each fault was the only thing wrong with its line', { timeout: 30000 }, async () => {
  const wd = await makeWorkdir('config_check_fixed');
  await wd.run(async () => {
    const configPath = await writeConfig(wd.path, {
      smscPort: 2775,
      apiUrl: 'https://lapor.example.go.id/api/stream/addstream',
      upstream: { timeout: '15s' },
      replies: { received: 'Terima kasih, laporan Anda bernomor {ref}.' },
    });
    const checked = await runProgram(daemonBin(), ['--check-config', '--config', configPath], { env: cleanEnv() });
    assert.equal(checked.code, 0, `exit status; stderr: ${checked.stderr}`);
    assert.equal(checked.stdout, 'config ok\n');
    assert.equal(checked.stderr, '', 'no faults, no warnings');
  });
});

test('warnings: --check-config prints them and exits 0; the daemon logs them at start without the secrets',
  { timeout: 60000 }, async () => {
    const wd = await makeWorkdir('config_check_warnings');
    await wd.run(async () => {
      const password = 'Pw0pen42';
      const token = 'tok-in-a-world-readable-file';
      const { sim } = await startWitnesses(wd, { sim: { password } });
      const dir = path.join(wd.path, 'warn');
      await mkdir(dir);
      // The API is on another host, over http: posting fails, which is fine here.
      const configPath = await writeConfig(dir, {
        smscPort: sim.port,
        apiUrl: 'http://192.0.2.10:8080/api/stream/addstream',
        apiToken: token,
        password,
        smsc: { tls_verify: false },
      });
      await chmod(configPath, 0o644);
      const text = await readFile(configPath, 'utf8');
      const expected = [
        { line: lineNumberOf(text, /^tls_verify = false$/), key: 'smsc[0].tls_verify', says: /tls = false/ },
        { line: lineNumberOf(text, /^password = /), key: 'smsc[0].password', says: /other users can read \(mode 0644\)/ },
        { line: lineNumberOf(text, /^url = "http:\/\/192/), key: 'upstream.url', says: /in clear text to 192\.0\.2\.10/ },
        { line: lineNumberOf(text, /^token = /), key: 'upstream.token', says: /other users can read \(mode 0644\)/ },
      ].sort((a, b) => a.line - b.line);

      const checked = await runProgram(daemonBin(), ['--check-config', '--config', configPath], { env: cleanEnv() });
      assert.equal(checked.code, 0, `warnings alone: exit 0; stderr: ${checked.stderr}`);
      assert.equal(checked.stdout, 'config ok\n');
      const lines = checked.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, expected.length, `one line per warning; got:\n${checked.stderr}`);
      expected.forEach((warning, i) => {
        const start = `${configPath}:${warning.line}: warning: key '${warning.key}': `;
        assert.ok(lines[i].startsWith(start), `line ${i + 1} starts with ${start}; got: ${lines[i]}`);
        assert.match(lines[i], warning.says);
      });
      assert.ok(!checked.stderr.includes(password) && !checked.stderr.includes(token), 'no secret in the warnings');

      const daemon = await startDaemon(configPath, { workdir: wd, env: k_no_systemd });
      await waitFor(() => sim.bindAttempts.some((a) => a.ok), { timeoutMs: 15000, what: 'the bind', daemon });
      for (const warning of expected) {
        const needle = `${configPath}:${warning.line}: warning: key '${warning.key}': `;
        const line = daemon.lines.find((l) => l.includes(needle));
        assert.ok(line, `the daemon logs ${needle}; stderr:\n${daemon.lines.join('\n')}`);
        assert.match(line, /^\S+ warning /, `at warning level: ${line}`);
      }
      await daemon.stop();
      const log = daemon.lines.join('\n');
      assert.ok(!log.includes(password), 'the SMPP password never appears in the log');
      assert.ok(!log.includes(token), 'the API token never appears in the log');

      // Closed to other users, the inline secrets are no longer warned about.
      await chmod(configPath, 0o600);
      const closed = await runProgram(daemonBin(), ['--check-config', '--config', configPath], { env: cleanEnv() });
      assert.equal(closed.code, 0);
      assert.equal(closed.stderr.split('\n').filter(Boolean).length, 2, `tls_verify and http remain: ${closed.stderr}`);
      assert.doesNotMatch(closed.stderr, /mode 0644/);
    });
  });
