// laporsmsd as a program (interfaces.md §1, §5): --version, --check-config
// and its PATH:LINE: key '…' errors (exit 2), LAPORSMS_CONFIG and --config,
// a bad config, a newer and a damaged database refusing to start (touching
// nothing), SIGTERM with reports in flight (finish within shutdown_grace,
// unbind, exit 0, lose or double nothing across the restart), sd_notify
// READY=1 / STOPPING=1 / WATCHDOG=1 through a fake NOTIFY_SOCKET, sd-daemon
// priority prefixes when stderr is the journal, and the control socket's
// mode 0660.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { SmscSimulator } from '../peers/smsc-sim.mjs';
import { ApiDouble } from '../peers/api-double.mjs';
import {
  laporctl, makeWorkdir, runProgram as runHarnessProgram, sleep, sqlite, startDaemon, startStack, waitFor,
  writeConfig,
} from './harness.mjs';
import { k_no_systemd, startNotifyListener } from './notify_listener.mjs';

// --- helpers -------------------------------------------------------------------

// The environment a test's program gets: the test runner's, without the
// systemd variables that would point the daemon at the real service manager
// or journal, plus `extra`.
function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const name of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'JOURNAL_STREAM', 'LAPORSMS_CONFIG']) {
    delete env[name];
  }
  return { ...env, ...extra };
}

// Runs `bin args…` to its end (bounded), in a clean environment unless told;
// resolves {code, signal, stdout, stderr, ms}.
function runProgram(bin, args, { env = cleanEnv(), timeoutMs = 15000 } = {}) {
  return runHarnessProgram(bin, args, { env, timeoutMs });
}

function daemonBin() {
  const bin = process.env.LAPORSMSD;
  if (!bin) {
    throw new Error('LAPORSMSD is not set: it names the laporsmsd binary to test');
  }
  return bin;
}

// The 1-based number of the first line of `text` that `regex` matches.
function lineNumberOf(text, regex) {
  const index = text.split('\n').findIndex((l) => regex.test(l));
  if (index < 0) {
    throw new Error(`no line matches ${regex}`);
  }
  return index + 1;
}

function escapeRegex(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// A config for a rig that is not running (for the programs that never get
// that far): ports that nothing listens on.
async function idleConfig(dir, overrides = {}) {
  return writeConfig(dir, { smscPort: 9, apiUrl: 'http://127.0.0.1:9/api/stream/addstream', ...overrides });
}

// An SMSC simulator and an API double on loopback (for some tests, witnesses that
// must see nothing).
async function startWitnesses(wd) {
  const sim = new SmscSimulator({ logger: wd.logger });
  await sim.start();
  wd.defer(() => sim.stop());
  const api = new ApiDouble({ logger: wd.logger });
  await api.start();
  wd.defer(() => api.stop());
  return { sim, api };
}

// Waits for `daemon` to exit by itself (bounded); resolves {code, signal, ms}.
async function exitOnItsOwn(daemon, { timeoutMs = 10000, what = 'laporsmsd' } = {}) {
  const startedAt = Date.now();
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const result = await Promise.race([daemon.exited, timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') {
    await daemon.kill();
    throw new Error(`${what} was expected to refuse to start, but was still running after ${timeoutMs} ms; ` +
      `stderr:\n  ${daemon.tail(20).join('\n  ')}`);
  }
  return { ...result, ms: Date.now() - startedAt };
}

// --- --version and --check-config ------------------------------------------------

test('--version prints "laporsmsd <version>" and exits 0', { timeout: 30000 }, async () => {
  const result = await runProgram(daemonBin(), ['--version']);
  assert.equal(result.code, 0, `exit status; stderr: ${result.stderr}`);
  assert.match(result.stdout, /^laporsmsd \d+\.\d+\.\d+[0-9A-Za-z.+-]*\n$/, 'one line: laporsmsd <version>');
});

test('--check-config says "config ok" for a good file and PATH:LINE: key for a bad one (exit 2)',
  { timeout: 60000 }, async () => {
    const wd = await makeWorkdir('daemon_program_check');
    await wd.run(async () => {
      const { sim, api } = await startWitnesses(wd);
      const bin = daemonBin();

      // A good file: validated only (nothing is dialled, no database is opened).
      const goodDir = path.join(wd.path, 'good');
      await mkdir(goodDir);
      const good = await writeConfig(goodDir, { smscPort: sim.port, apiUrl: api.url });
      const ok = await runProgram(bin, ['--check-config', '--config', good]);
      assert.equal(ok.code, 0, `a good file: exit status; stdout: ${ok.stdout} stderr: ${ok.stderr}`);
      assert.equal(ok.stdout, 'config ok\n', 'a good file prints "config ok"');
      assert.equal(sim.connections, 0, '--check-config dials no SMSC');
      assert.equal(api.requests.length, 0, '--check-config posts nothing');
      await assert.rejects(stat(path.join(goodDir, 'control.sock')), { code: 'ENOENT' },
        '--check-config opens no control socket');

      // A bad value: port 99999 on the second link.
      const portDir = path.join(wd.path, 'port');
      await mkdir(portDir);
      const badPort = await writeConfig(portDir, {
        smscPort: sim.port, apiUrl: api.url,
        smsc: [{ name: 'telkomsel' }, { name: 'indosat', port: 99999 }],
      });
      const portLine = lineNumberOf(await readFile(badPort, 'utf8'), /^port = 99999$/);
      const portResult = await runProgram(bin, ['--check-config', '--config', badPort]);
      const portOutput = portResult.stdout + portResult.stderr;
      assert.equal(portResult.code, 2, `port 99999: exit status; output: ${portOutput}`);
      assert.match(portOutput, new RegExp(`^${escapeRegex(badPort)}:${portLine}: key 'smsc\\[1\\]\\.port': \\S`, 'm'),
        `port 99999 on line ${portLine} of the second link is named PATH:LINE: key 'smsc[1].port': …; got: ${portOutput}`);
      assert.doesNotMatch(portResult.stdout, /config ok/);

      // An unknown key, placed in the middle of [daemon].
      const unknownDir = path.join(wd.path, 'unknown');
      await mkdir(unknownDir);
      const unknown = await writeConfig(unknownDir, { smscPort: sim.port, apiUrl: api.url });
      const text = (await readFile(unknown, 'utf8')).replace(/^\[daemon\]\n/m, '[daemon]\nshutdown_graze = "5s"\n');
      await writeFile(unknown, text, { mode: 0o600 });
      const unknownLine = lineNumberOf(text, /^shutdown_graze = /);
      const unknownResult = await runProgram(bin, ['--check-config', '--config', unknown]);
      const unknownOutput = unknownResult.stdout + unknownResult.stderr;
      assert.equal(unknownResult.code, 2, `an unknown key: exit status; output: ${unknownOutput}`);
      assert.match(unknownOutput,
        new RegExp(`^${escapeRegex(unknown)}:${unknownLine}: key 'daemon\\.shutdown_graze': \\S`, 'm'),
        `the unknown key on line ${unknownLine} is named; got: ${unknownOutput}`);

      // The daemon started normally with the bad file refuses to start the same way, binding nothing.
      const daemon = await startDaemon(badPort, { workdir: wd, env: k_no_systemd });
      const exit = await exitOnItsOwn(daemon, { what: 'laporsmsd with port = 99999' });
      assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 2, signal: null },
        `laporsmsd with a bad config exits 2; stderr: ${daemon.lines.join(' | ')}`);
      assert.ok(daemon.lines.some((l) => l.includes(`${badPort}:${portLine}: key 'smsc[1].port': `)),
        `its stderr names file, line and key: ${daemon.lines.join(' | ')}`);
      await sleep(300);
      assert.equal(sim.connections, 0, 'a daemon with a bad config dials no SMSC');
      assert.equal(api.requests.length, 0, 'a daemon with a bad config posts nothing');
      await assert.rejects(stat(path.join(portDir, 'control.sock')), { code: 'ENOENT' },
        'a daemon with a bad config opens no control socket');
      await assert.rejects(stat(path.join(portDir, 'laporsms.db')), { code: 'ENOENT' },
        'a daemon with a bad config creates no database');
    });
  });

test('LAPORSMS_CONFIG names the file; --config overrides it', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('daemon_program_env');
  await wd.run(async () => {
    const bin = daemonBin();
    const goodDir = path.join(wd.path, 'good');
    const badDir = path.join(wd.path, 'bad');
    await mkdir(goodDir);
    await mkdir(badDir);
    const good = await idleConfig(goodDir);
    const bad = await idleConfig(badDir, { smsc: { port: 99999 } });
    const badLine = lineNumberOf(await readFile(bad, 'utf8'), /^port = 99999$/);
    const badMessage = new RegExp(`^${escapeRegex(bad)}:${badLine}: key 'smsc\\[0\\]\\.port': `, 'm');

    const fromEnvGood = await runProgram(bin, ['--check-config'], { env: cleanEnv({ LAPORSMS_CONFIG: good }) });
    assert.equal(fromEnvGood.code, 0, `LAPORSMS_CONFIG=good: ${fromEnvGood.stdout}${fromEnvGood.stderr}`);
    assert.equal(fromEnvGood.stdout, 'config ok\n');

    const fromEnvBad = await runProgram(bin, ['--check-config'], { env: cleanEnv({ LAPORSMS_CONFIG: bad }) });
    assert.equal(fromEnvBad.code, 2, `LAPORSMS_CONFIG=bad: ${fromEnvBad.stdout}${fromEnvBad.stderr}`);
    assert.match(fromEnvBad.stdout + fromEnvBad.stderr, badMessage, 'the file LAPORSMS_CONFIG names is the one read');

    const overrideToGood = await runProgram(bin, ['--check-config', '--config', good],
      { env: cleanEnv({ LAPORSMS_CONFIG: bad }) });
    assert.equal(overrideToGood.code, 0,
      `--config good over LAPORSMS_CONFIG=bad: ${overrideToGood.stdout}${overrideToGood.stderr}`);
    assert.equal(overrideToGood.stdout, 'config ok\n');

    const overrideToBad = await runProgram(bin, ['--config', bad, '--check-config'],
      { env: cleanEnv({ LAPORSMS_CONFIG: good }) });
    assert.equal(overrideToBad.code, 2, `--config bad over LAPORSMS_CONFIG=good: ${overrideToBad.stdout}${overrideToBad.stderr}`);
    assert.match(overrideToBad.stdout + overrideToBad.stderr, badMessage, '--config wins over the environment');

    // Neither: the default path, which a test machine does not have, is the one tried.
    const neither = await runProgram(bin, ['--check-config'], { env: cleanEnv() });
    assert.notEqual(neither.code, 0, 'without LAPORSMS_CONFIG and --config the default path is read');
    assert.match(neither.stdout + neither.stderr, /\/etc\/laporsms\/laporsmsd\.toml/,
      `the message names the default path: ${neither.stdout}${neither.stderr}`);
  });
});

// --- databases that must not be opened -------------------------------------------

test('a database newer than the daemon and one that is not a database both refuse the start, untouched',
  { timeout: 60000 }, async () => {
    const wd = await makeWorkdir('daemon_program_db');
    await wd.run(async () => {
      const { sim, api } = await startWitnesses(wd);

      // PRAGMA user_version higher than any schema this daemon knows.
      const newerDir = path.join(wd.path, 'newer');
      await mkdir(newerDir);
      const newerConfig = await writeConfig(newerDir, { smscPort: sim.port, apiUrl: api.url });
      const newerDb = path.join(newerDir, 'laporsms.db');
      const made = await runProgram('sqlite3', [newerDb,
        "CREATE TABLE from_the_future (x TEXT); INSERT INTO from_the_future VALUES ('keep me'); PRAGMA user_version = 9999;"]);
      assert.equal(made.code, 0, `sqlite3: ${made.stderr}`);
      const newer = await startDaemon(newerConfig, { workdir: wd, env: k_no_systemd });
      const newerExit = await exitOnItsOwn(newer, { what: 'laporsmsd on a newer database' });
      const newerLog = newer.lines.join('\n');
      assert.notEqual(newerExit.code, 0, `a newer database: exit status non-zero; stderr: ${newerLog}`);
      assert.equal(newerExit.signal, null, `exits, not killed by a signal: ${newerLog}`);
      assert.match(newerLog, /9999/, `the message names the database's version: ${newerLog}`);
      assert.match(newerLog, /newer/i, `the message says the database is newer: ${newerLog}`);
      assert.ok(newerLog.includes(newerDb), `the message names the database file: ${newerLog}`);
      const [version] = await sqlite(newerDb, 'PRAGMA user_version');
      assert.equal(version.user_version, 9999, 'the newer database keeps its version');
      assert.deepEqual(await sqlite(newerDb, 'SELECT x FROM from_the_future'), [{ x: 'keep me' }],
        'the newer database keeps its rows');
      const tables = (await sqlite(newerDb, "SELECT name FROM sqlite_master WHERE type = 'table'")).map((r) => r.name);
      assert.deepEqual(tables, ['from_the_future'], 'no tables of ours were added to the newer database');

      // Random bytes where the database should be.
      const junkDir = path.join(wd.path, 'junk');
      await mkdir(junkDir);
      const junkConfig = await writeConfig(junkDir, { smscPort: sim.port, apiUrl: api.url });
      const junkDb = path.join(junkDir, 'laporsms.db');
      const junk = randomBytes(3 * 4096);
      junk.write('not sqlite, ', 0, 'latin1'); // never the "SQLite format 3" header by chance
      await writeFile(junkDb, junk);
      const damaged = await startDaemon(junkConfig, { workdir: wd, env: k_no_systemd });
      const junkExit = await exitOnItsOwn(damaged, { what: 'laporsmsd on a file that is not a database' });
      const junkLog = damaged.lines.join('\n');
      assert.notEqual(junkExit.code, 0, `not a database: exit status non-zero; stderr: ${junkLog}`);
      assert.equal(junkExit.signal, null, `exits, not killed by a signal (no crash): ${junkLog}`);
      assert.match(junkLog, /not a database|malformed|corrupt/i, `the message says what is wrong: ${junkLog}`);
      assert.ok(junkLog.includes(junkDb), `the message names the database file: ${junkLog}`);
      assert.ok((await readFile(junkDb)).equals(junk), 'the damaged file is left byte for byte as it was');

      await sleep(300);
      assert.equal(sim.connections, 0, 'neither daemon dialled the SMSC');
      assert.equal(api.requests.length, 0, 'neither daemon posted anything');
    });
  });

// --- SIGTERM with work in flight -------------------------------------------------

test('SIGTERM with reports in flight: finishes them within shutdown_grace, unbinds, exits 0, loses nothing',
  { timeout: 90000 }, async () => {
    const wd = await makeWorkdir('daemon_program_sigterm');
    await wd.run(async () => {
      const graceMs = 6000;
      const delayMs = 2000;
      const { sim, api, daemon, configPath } = await startStack(wd, {
        config: {
          upstream: { concurrency: 2 },
          daemon: { shutdown_grace: `${graceMs / 1000}s`, log_level: 'debug' },
        },
      });
      await sim.waitForBind();
      // Every answer takes 2 s: two reports in flight, the rest waiting in the queue.
      api.setMode('slow', { delayMs });
      const citizens = Array.from({ length: 5 }, (_, i) => `62813555000${i + 1}`);
      const acknowledged = new Set();
      for (const [i, from] of citizens.entries()) {
        const mo = await sim.sendMo({ from, text: `LAPORYAI pipa air bocor di gang ${i + 1} RT 04` });
        assert.equal(mo.status, 0, `MO from ${from} acknowledged`);
        acknowledged.add(from);
      }
      // Wait until the upstream requests are under way, then stop.
      await waitFor(async () => {
        const forwarding = await laporctl(configPath, ['--json', 'reports', '--state', 'forwarding']);
        return forwarding.code === 0 && forwarding.json.length >= 1;
      }, { daemon, timeoutMs: 10000, what: 'a report in state forwarding' });
      const stopAt = Date.now();
      const stopping = daemon.stop({ timeoutMs: graceMs + 10000 });

      // An MO offered after SIGTERM: the daemon stops reading new SMS. If it
      // acknowledges one all the same, that one must not be lost either.
      await sleep(300);
      const late = '6281355500099';
      let lateStatus = null;
      try {
        lateStatus = (await sim.sendMo({ from: late, text: 'LAPORYAI dikirim setelah SIGTERM', timeoutMs: 3000 })).status;
      } catch (error) {
        lateStatus = `no answer (${error.message})`;
      }
      if (lateStatus === 0) {
        acknowledged.add(late);
      }

      const exit = await stopping;
      const took = Date.now() - stopAt;
      assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM: exit 0');
      assert.ok(took < graceMs + 3000, `stopped in ${took} ms (shutdown_grace ${graceMs} ms)`);
      assert.ok(daemon.lines.some((l) => /stopping; .* signal=15 /.test(l)), 'the stop names SIGTERM');

      // In-flight work was finished, not cut: every request that reached the
      // API before the exit got its whole answer, and the unbind came after.
      const seen = api.requests.filter((r) => r.method === 'POST');
      assert.ok(seen.length >= 1, 'at least one report was in flight at SIGTERM');
      for (const r of seen) {
        assert.equal(r.status, 200, `a request in flight at SIGTERM was answered, not abandoned (${r.reason})`);
      }
      assert.ok(sim.unbinds.length >= 1, 'the SMSC was sent an unbind');
      const lastAnswer = Math.max(...seen.map((r) => r.time));
      assert.ok(sim.unbinds[0].time >= lastAnswer,
        `the unbind (at +${sim.unbinds[0].time - stopAt} ms) came after the last upstream answer (+${lastAnswer - stopAt} ms)`);
      const closed = sim.sessionHistory.every((s) => s.closedAt !== null);
      assert.ok(closed, 'every SMPP session is closed after the exit');
      const postedBefore = new Set(api.posts.map((p) => p.telpon));

      // The next start forwards what was left, each report exactly once.
      api.setMode('ok');
      const again = await startDaemon(configPath, { workdir: wd, env: k_no_systemd });
      await waitFor(() => [...acknowledged].every((c) => api.posts.some((p) => p.telpon === c)), {
        daemon: again, timeoutMs: 20000,
        what: () => `every acknowledged MO posted (${api.posts.length} posts: ${api.posts.map((p) => p.telpon).join(', ')})`,
      });
      await sleep(1000);
      for (const c of acknowledged) {
        const posts = api.posts.filter((p) => p.telpon === c).length;
        assert.equal(posts, 1, `the report of ${c} was posted exactly once (posted before the stop: ${postedBefore.has(c)})`);
      }
      for (const p of api.posts) {
        assert.ok(acknowledged.has(p.telpon) || p.telpon === late, `a post from an unknown sender ${p.telpon}`);
      }
      const finalExit = await again.stop({ timeoutMs: 20000 });
      assert.deepEqual(finalExit, { code: 0, signal: null }, 'the second start stops cleanly too');
    });
  });

test('after SIGTERM no new SMS is taken: a deliver_sm offered during the drain is not acknowledged',
  { timeout: 60000 }, async () => {
    const wd = await makeWorkdir('daemon_program_stop_reading');
    await wd.run(async () => {
      const { sim, api, daemon, configPath } = await startStack(wd, {
        config: { upstream: { concurrency: 1 }, daemon: { shutdown_grace: '6s', log_level: 'debug' } },
      });
      await sim.waitForBind();
      // One report whose answer takes 2.5 s keeps the daemon draining, still bound.
      api.setMode('slow', { delayMs: 2500 });
      assert.equal((await sim.sendMo({ from: '6281355600001', text: 'LAPORYAI selokan mampet di RW 02' })).status, 0);
      await waitFor(async () => {
        const forwarding = await laporctl(configPath, ['--json', 'reports', '--state', 'forwarding']);
        return forwarding.code === 0 && forwarding.json.length >= 1;
      }, { daemon, timeoutMs: 10000, what: 'the report in state forwarding' });
      const stopAt = Date.now();
      daemon.child.kill('SIGTERM');
      await daemon.waitForLine(/stopping; .* signal=15 /, { timeoutMs: 5000 });

      // The SMSC offers one more MO while the daemon drains. "Stop reading new
      // SMS": it is not acknowledged with ESME_ROK (an error status, no answer
      // or a closed session all leave it with the SMSC, which delivers it again).
      let answer;
      try {
        answer = await sim.sendMo({ from: '6281355600002', text: 'LAPORYAI dikirim saat daemon berhenti', timeoutMs: 3000 });
      } catch (error) {
        answer = { status: null, error: error.message };
      }
      const sentAt = Date.now() - stopAt;
      const exit = await daemon.stop({ timeoutMs: 20000 });
      assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM: exit 0');
      assert.equal(api.requests.filter((r) => r.method === 'POST' && r.status !== 200).length, 0,
        'the report in flight was answered, not abandoned');
      assert.notEqual(answer.status, 0,
        `a deliver_sm offered ${sentAt} ms after SIGTERM (while draining, before the unbind) was acknowledged ` +
        'with ESME_ROK: the daemon went on reading new SMS after SIGTERM');
    });
  });

// --- systemd ---------------------------------------------------------------------

test('sd_notify: READY=1 when running, WATCHDOG=1 every half WATCHDOG_USEC, STOPPING=1 on SIGTERM',
  { timeout: 60000 }, async () => {
    const wd = await makeWorkdir('daemon_program_notify');
    await wd.run(async () => {
      const notify = await startNotifyListener(wd);
      const { sim, api } = await startWitnesses(wd);
      const configPath = await writeConfig(wd.path, {
        smscPort: sim.port, apiUrl: api.url, apiToken: api.token, daemon: { shutdown_grace: '3s', log_level: 'info' },
      });
      // JOURNAL_STREAM naming some other file (the config): stderr is not the journal.
      const other = await stat(configPath, { bigint: true });
      const daemon = await startDaemon(configPath, {
        workdir: wd,
        env: {
          ...k_no_systemd, NOTIFY_SOCKET: notify.socketPath, WATCHDOG_USEC: '1000000',
          JOURNAL_STREAM: `${other.dev}:${other.ino}`,
        },
      });
      await waitFor(() => notify.with('READY=1').length > 0, {
        daemon, timeoutMs: 15000, what: () => `READY=1 (datagrams so far: ${JSON.stringify(notify.messages)})`,
      });
      // Ready means serving: the control socket answers.
      const status = await laporctl(configPath, ['--json', 'status']);
      assert.equal(status.json.daemon, 'running', 'the control socket answers once READY=1 was sent');
      await sim.waitForBind({ timeoutMs: 15000 });

      // WATCHDOG_USEC = 1 s: kicks at least twice in 1.8 s, never 1 s apart.
      const readyAt = notify.with('READY=1')[0].time;
      await sleep(Math.max(0, readyAt + 1800 - Date.now()));
      const kicks = notify.with('WATCHDOG=1');
      assert.ok(kicks.length >= 2, `WATCHDOG=1 at least twice within 1.8 s of READY=1 (got ${kicks.length})`);
      for (let i = 1; i < kicks.length; i++) {
        const gap = kicks[i].time - kicks[i - 1].time;
        assert.ok(gap < 1000, `WATCHDOG=1 kicks ${gap} ms apart: systemd would have killed the daemon`);
      }
      assert.equal(notify.with('STOPPING=1').length, 0, 'no STOPPING=1 before the stop');

      const stopAt = Date.now();
      const exit = await daemon.stop({ timeoutMs: 15000 });
      assert.deepEqual(exit, { code: 0, signal: null });
      const stoppingMsgs = notify.with('STOPPING=1');
      assert.equal(stoppingMsgs.length, 1, `STOPPING=1 once on SIGTERM (datagrams: ${JSON.stringify(notify.messages)})`);
      assert.ok(stoppingMsgs[0].time >= stopAt, 'STOPPING=1 came after SIGTERM');
      assert.ok(sim.unbinds.length >= 1, 'the link was unbound on SIGTERM');
      assert.equal(notify.with('READY=1').length, 1, 'READY=1 once');

      // stderr was a pipe, not the journal: timestamped lines, no priority prefixes.
      assert.ok(daemon.lines.length > 0);
      for (const line of daemon.lines) {
        assert.doesNotMatch(line, /^<\d>/, `no sd-daemon prefix when stderr is not the journal: ${line}`);
        assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, `a timestamped line: ${line}`);
      }
      // The version in the start line is the one --version prints.
      const version = (await runProgram(daemonBin(), ['--version'])).stdout.trim().replace(/^laporsmsd /, '');
      assert.ok(daemon.lines.some((l) => l.includes(`laporsmsd running version=${version} `)),
        `the start line names version ${version}`);
    });
  });

test('stderr as the journal gets <6>/<4>/<3> prefixes; the control socket has mode 0660',
  { timeout: 60000 }, async () => {
    const wd = await makeWorkdir('daemon_program_journal');
    await wd.run(async () => {
      const { sim, api } = await startWitnesses(wd);
      const configPath = await writeConfig(wd.path, {
        smscPort: sim.port, apiUrl: api.url, apiToken: api.token, daemon: { shutdown_grace: '3s', log_level: 'info' },
      });
      const socketPath = path.join(wd.path, 'control.sock');

      // stderr is a file whose device:inode JOURNAL_STREAM names, as systemd hands over the journal stream.
      const journalPath = path.join(wd.path, 'journal.stream');
      const fd = openSync(journalPath, 'a');
      const st = fstatSync(fd, { bigint: true });
      const child = spawn(daemonBin(), [], {
        stdio: ['ignore', 'ignore', fd],
        env: cleanEnv({ LAPORSMS_CONFIG: configPath, JOURNAL_STREAM: `${st.dev}:${st.ino}` }),
      });
      closeSync(fd);
      let exitInfo = null;
      const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
        exitInfo = { code, signal };
        resolve(exitInfo);
      }));
      wd.defer(async () => {
        if (exitInfo === null) {
          child.kill('SIGKILL');
          await exited;
        }
      });
      const journal = async () => (await readFile(journalPath, 'utf8')).split('\n').filter(Boolean);
      const waitJournal = (regex, what) => waitFor(async () => {
        if (exitInfo !== null) {
          throw new Error(`laporsmsd exited (${JSON.stringify(exitInfo)}): ${(await journal()).join(' | ')}`);
        }
        return (await journal()).find((l) => regex.test(l));
      }, { timeoutMs: 15000, what });

      // Started from LAPORSMS_CONFIG alone (no --config): it binds the link of that file.
      await waitFor(() => sim.bindAttempts.some((a) => a.ok), { timeoutMs: 15000, what: 'the bind' });
      const running = await waitJournal(/laporsmsd running version=/, 'the start line');
      assert.match(running, /^<6>laporsmsd /, `the start line is info, <6>: ${running}`);

      // The control socket: only the daemon's user and group.
      const socketStat = await stat(socketPath);
      assert.ok(socketStat.isSocket(), `${socketPath} is a socket`);
      assert.equal((socketStat.mode & 0o777).toString(8), '660', 'the control socket has mode 0660');

      // A warning: the API answers 503 once.
      api.setMode('unavailable', { count: 1 });
      assert.equal((await sim.sendMo({ from: '6281344400001', text: 'LAPORYAI lampu jalan mati di Jl. Merdeka' })).status, 0);
      const warning = await waitJournal(/not forwarded/, 'the warning about the 503');
      assert.match(warning, /^<4>/, `a transient upstream failure is a warning, <4>: ${warning}`);
      await api.waitForPosts(1, { timeoutMs: 15000 });

      // An error: SIGHUP with a broken file.
      const original = await readFile(configPath, 'utf8');
      await writeFile(configPath, `${original}\n[replies]\nforwarded = "Laporan {nope}"\n`, { mode: 0o600 });
      child.kill('SIGHUP');
      const error = await waitJournal(/keeping the running configuration/, 'the refused reload');
      assert.match(error, /^<3>/, `a refused reload is an error, <3>: ${error}`);
      await writeFile(configPath, original, { mode: 0o600 });

      child.kill('SIGTERM');
      let timer;
      const result = await Promise.race([exited,
        new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), 15000); })]);
      clearTimeout(timer);
      assert.notEqual(result, 'timeout', 'laporsmsd exits within 15 s of SIGTERM');
      assert.deepEqual(result, { code: 0, signal: null }, 'SIGTERM: exit 0');
      await assert.rejects(stat(socketPath), { code: 'ENOENT' }, 'the control socket is removed on exit');

      const lines = await journal();
      for (const line of lines) {
        assert.match(line, /^<[3467]>\S/, `every line has an sd-daemon priority prefix: ${line}`);
        assert.doesNotMatch(line, /^<\d>\d{4}-\d\d-\d\dT/, `no timestamp of its own (the journal adds one): ${line}`);
      }
      assert.ok(lines.some((l) => /^<6>.*stopped/.test(l)), `the stop is logged at info: ${lines.join(' | ')}`);
    });
  });
