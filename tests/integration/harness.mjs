// Integration-test harness: runs the real laporsmsd and laporctl (paths from
// the environment variables LAPORSMSD and LAPORCTL, which CTest sets) against
// the peers in tests/peers, in a fresh directory per test. Everything listens
// on 127.0.0.1 with ports chosen at run time, and every wait is bounded.

import { spawn, execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { access, constants, mkdtemp, rm, appendFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

import { SmscSimulator } from '../peers/smsc-sim.mjs';
import { ApiDouble } from '../peers/api-double.mjs';

// The [replies] defaults of interfaces.md §2, which the daemon must send as they are.
export const k_replies = Object.freeze({
  received: 'Terima kasih, laporan Anda kami terima dengan nomor {ref}. Kami teruskan ke LAPOR! dan kabari Anda via SMS.',
  forwarded: 'Laporan {ref} sudah masuk LAPOR! dengan Tracking ID #{tracking_id}. Pantau: lapor.go.id/pengaduan/{tracking_id} atau SMS CEK {tracking_id} ke 1708.',
  status_changed: 'Laporan #{tracking_id}: {status}. {note}',
  status_reply: 'Laporan {ref} (#{tracking_id}): {status}, diperbarui {updated}.',
  help: 'Format: LAPORYAI spasi isi laporan, kirim ke 1708. Cek status: CEK spasi nomor laporan.',
  empty_report: 'Isi laporan belum ada. Ketik LAPORYAI spasi isi laporan, kirim ke 1708.',
  unknown_ref: 'Nomor laporan {ref} tidak ditemukan. Periksa kembali nomornya.',
  rate_limited: 'Laporan Anda sudah banyak dalam 1 jam terakhir. Laporan berikutnya kami simpan untuk diperiksa petugas.',
  failed: 'Maaf, laporan {ref} belum dapat diteruskan ke LAPOR!. Petugas kami akan menindaklanjuti.',
});

// A local reference (interfaces.md §3) with the test configs' ref_prefix.
export const k_ref_pattern = 'MTR[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4,8}';

const k_placeholder_patterns = {
  ref: k_ref_pattern,
  tracking_id: '[0-9A-Za-z-]+',
};

// Template `name` with its placeholders filled from `values`.
export function fillTemplate(name, values) {
  return k_replies[name].replace(/\{(\w+)\}/g, (whole, key) => {
    if (!(key in values)) {
      throw new Error(`fillTemplate(${name}): no value for {${key}}`);
    }
    return String(values[key]);
  });
}

// A regex matching the whole of template `name`, capturing each placeholder by name.
export function templateRegex(name) {
  const seen = new Set();
  const source = k_replies[name].split(/(\{\w+\})/).map((piece) => {
    const m = /^\{(\w+)\}$/.exec(piece);
    if (!m) {
      return piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
    if (seen.has(m[1])) {
      return `\\k<${m[1]}>`;
    }
    seen.add(m[1]);
    return `(?<${m[1]}>${k_placeholder_patterns[m[1]] ?? '.*?'})`;
  }).join('');
  return new RegExp(`^${source}$`, 's');
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// A TCP port on 127.0.0.1 that was free a moment ago (for daemon listeners such as [metrics]).
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// --- workdir -----------------------------------------------------------------

const g_live_children = new Set();
process.on('exit', () => {
  // A test that was cancelled must not leave a daemon behind.
  for (const child of g_live_children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

export class Workdir {
  #cleanups = [];

  constructor(dir) {
    this.path = dir;
    // Set to keep the directory even when everything passed.
    this.keep = false;
    this.daemons = [];
    this.peerLog = path.join(dir, 'peers.log');
  }

  // A logger for the peers that appends to peers.log in this directory.
  get logger() {
    return (line) => {
      appendFile(this.peerLog, `${new Date().toISOString()} ${line}\n`).catch(() => {});
    };
  }

  // Runs `fn` (newest first) when the workdir closes, on success and on failure.
  defer(fn) {
    this.#cleanups.push(fn);
  }

  // Runs the cleanups; removes the directory when `failed` is false (and
  // `keep` is not set), else keeps it and prints where it is together with
  // the tail of each daemon's stderr.
  async close({ failed }) {
    const errors = [];
    while (this.#cleanups.length) {
      const fn = this.#cleanups.pop();
      try {
        await fn({ failed });
      } catch (error) {
        errors.push(error);
      }
    }
    if (failed || errors.length) {
      const lines = [`\n--- failed; kept ${this.path}`];
      for (const daemon of this.daemons) {
        lines.push(`--- last stderr lines of laporsmsd (pid ${daemon.pid}; all in ${daemon.logPath}):`);
        lines.push(...daemon.tail(40).map((l) => `    ${l}`));
      }
      process.stderr.write(`${lines.join('\n')}\n`);
    } else if (this.keep) {
      process.stderr.write(`kept ${this.path}\n`);
    } else {
      await rm(this.path, { recursive: true, force: true });
    }
    if (errors.length) {
      throw new AggregateError(errors, `cleanup failed: ${errors.map((e) => e.message).join('; ')}`);
    }
  }

  // Runs `fn(this)` and closes the workdir: removed when `fn` succeeds, kept
  // and printed when it throws (the error is rethrown).
  async run(fn) {
    let result;
    try {
      result = await fn(this);
    } catch (error) {
      await this.close({ failed: true }).catch((cleanupError) => {
        process.stderr.write(`--- also: ${cleanupError.message}\n`);
      });
      throw error;
    }
    await this.close({ failed: false });
    return result;
  }
}

// A fresh directory under os.tmpdir(); see Workdir.run and Workdir.close.
export async function makeWorkdir(name = 'it') {
  const dir = await mkdtemp(path.join(os.tmpdir(), `laporsms-${name}-`));
  return new Workdir(dir);
}

// --- config ------------------------------------------------------------------

function tomlValue(value, where) {
  if (typeof value === 'string') {
    // A JSON string literal is a valid TOML basic string.
    return JSON.stringify(value);
  }
  if (typeof value === 'number' && Number.isInteger(value)) {
    return String(value);
  }
  if (typeof value === 'boolean') {
    return value ? 'true' : 'false';
  }
  if (Array.isArray(value)) {
    return `[${value.map((v, i) => tomlValue(v, `${where}[${i}]`)).join(', ')}]`;
  }
  throw new Error(`writeConfig: ${where} has a value TOML cannot take here: ${JSON.stringify(value)}`);
}

function tomlTable(header, entries, where) {
  const lines = [header];
  for (const [key, value] of Object.entries(entries)) {
    if (value === undefined) {
      continue;
    }
    lines.push(`${key} = ${tomlValue(value, `${where}.${key}`)}`);
  }
  return lines.join('\n');
}

// Writes `dir`/laporsmsd.toml (interfaces.md §2) for a test and returns its
// path. Test timings: reconnect 100ms..1s, upstream retry 200ms..2s,
// enquire_link 5s. `overrides` maps a section to keys replacing the defaults,
// e.g. {upstream: {adapter: 'rest-json'}}; `smsc` may be an array (one entry
// per link, each over the defaults); a key set to undefined is left out.
// `rawToml` is appended as it is.
export async function writeConfig(dir, { smscPort, apiUrl, apiToken = 'test-token', systemId = 'laporsms',
  password = 'secret', rawToml = '', ...overrides } = {}) {
  if (!smscPort || !apiUrl) {
    throw new Error('writeConfig needs smscPort and apiUrl');
  }
  const smscDefaults = {
    name: 'sim',
    host: '127.0.0.1',
    port: smscPort,
    system_id: systemId,
    password,
    bind: 'transceiver',
    source_addr: '1708',
    enquire_link_interval: '5s',
    response_timeout: '5s',
    reconnect_min: '100ms',
    reconnect_max: '1s',
  };
  const sections = {
    store: { path: path.join(dir, 'laporsms.db') },
    upstream: {
      adapter: 'lapor-xml',
      url: apiUrl,
      token: apiToken,
      timeout: '5s',
      retry_min: '200ms',
      retry_max: '2s',
    },
    reports: { ref_prefix: 'MTR' },
    control: { socket: path.join(dir, 'control.sock') },
    daemon: { shutdown_grace: '5s', log_level: 'debug' },
  };
  let links = [smscDefaults];
  for (const [section, values] of Object.entries(overrides)) {
    if (section === 'smsc') {
      const list = Array.isArray(values) ? values : [values];
      links = list.map((link) => ({ ...smscDefaults, ...link }));
    } else {
      sections[section] = { ...(sections[section] ?? {}), ...values };
    }
  }
  const parts = ['# written by tests/integration/harness.mjs'];
  links.forEach((link, i) => parts.push(tomlTable('[[smsc]]', link, `smsc[${i}]`)));
  for (const [section, values] of Object.entries(sections)) {
    parts.push(tomlTable(`[${section}]`, values, section));
  }
  if (rawToml) {
    parts.push(rawToml);
  }
  const configPath = path.join(dir, 'laporsmsd.toml');
  await appendFile(configPath, `${parts.join('\n\n')}\n`, { flag: 'w', mode: 0o600 });
  return configPath;
}

// --- programs ----------------------------------------------------------------

async function binaryFromEnv(variable) {
  const file = process.env[variable];
  if (!file) {
    throw new Error(`${variable} is not set: it names the binary to test (CTest sets it; ` +
      `scripts/demo passes it; by hand: export ${variable}=path/to/${variable.toLowerCase()})`);
  }
  try {
    await access(file, constants.X_OK);
  } catch {
    throw new Error(`${variable}=${file} is not an executable file`);
  }
  return file;
}

function tailOf(lines, n) {
  return lines.slice(Math.max(0, lines.length - n));
}

// Starts laporsmsd --config `configPath`. Its stderr lines are kept in
// `lines` and in laporsmsd.stderr.log next to the config. The returned
// object's stop() sends SIGTERM and waits (bounded) for the exit.
export async function startDaemon(configPath, { env = {}, args = [], workdir = null } = {}) {
  const bin = await binaryFromEnv('LAPORSMSD');
  const logPath = path.join(path.dirname(configPath), 'laporsmsd.stderr.log');
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(bin, ['--config', configPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  g_live_children.add(child);
  const lines = [];
  const stdoutLines = [];
  let exitInfo = null;
  let spawnError = null;
  const exited = new Promise((resolve) => {
    child.on('error', (error) => {
      spawnError = error;
      exitInfo = { code: null, signal: null, error };
      g_live_children.delete(child);
      resolve(exitInfo);
    });
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      g_live_children.delete(child);
    });
    child.on('close', () => {
      log.end();
      resolve(exitInfo);
    });
  });
  readline.createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
    lines.push(line);
    log.write(`${line}\n`);
  });
  readline.createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
    stdoutLines.push(line);
    log.write(`[stdout] ${line}\n`);
  });

  const daemon = {
    pid: child.pid,
    child,
    lines,
    stdoutLines,
    logPath,
    exited,
    get running() {
      return exitInfo === null;
    },
    get exitInfo() {
      return exitInfo;
    },
    tail(n = 20) {
      return tailOf(lines, n);
    },
    // Throws, with the tail of stderr, when the daemon is no longer running.
    assertRunning(what = 'the test') {
      if (exitInfo !== null) {
        const how = spawnError ? `could not start (${spawnError.message})`
          : `exited with code ${exitInfo.code}${exitInfo.signal ? `, signal ${exitInfo.signal}` : ''}`;
        const tail = lines.length ? `last stderr lines:\n  ${tailOf(lines, 20).join('\n  ')}` : 'no stderr output';
        throw new Error(`laporsmsd ${how} during ${what}; ${tail}`);
      }
    },
    // SIGTERM, then wait up to `timeoutMs`; on timeout SIGKILL and throw. Resolves {code, signal}.
    async stop({ timeoutMs = 15000 } = {}) {
      if (exitInfo === null) {
        child.kill('SIGTERM');
      }
      let timer;
      const timedOut = new Promise((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const result = await Promise.race([exited, timedOut]);
      clearTimeout(timer);
      if (result === 'timeout') {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`laporsmsd did not exit within ${timeoutMs} ms of SIGTERM; killed`);
      }
      return result;
    },
    async kill() {
      if (exitInfo === null) {
        child.kill('SIGKILL');
      }
      return exited;
    },
    // Resolves the first stderr line matching `regex` (from the start of the log).
    waitForLine(regex, { timeoutMs = 10000 } = {}) {
      return waitFor(() => lines.find((l) => regex.test(l)), {
        timeoutMs, what: `a laporsmsd stderr line matching ${regex}`, daemon,
      });
    },
  };
  if (workdir) {
    workdir.daemons.push(daemon);
    workdir.defer(async () => {
      if (daemon.running) {
        await daemon.stop().catch(() => daemon.kill());
      }
    });
  }
  return daemon;
}

// Runs `bin args…` to its end, bounded by `timeoutMs` (then killed), with
// `env` as its whole environment; resolves {code, signal, ms, stdout, stderr}.
// A non-zero exit is not an error here.
export function runProgram(bin, args, { env = process.env, timeoutMs = 10000 } = {}) {
  const name = path.basename(bin);
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    g_live_children.add(child);
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} ${args.join(' ')} did not finish within ${timeoutMs} ms; killed`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      g_live_children.delete(child);
      reject(new Error(`${name} could not start: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      g_live_children.delete(child);
      resolve({
        code, signal, ms: Date.now() - startedAt,
        stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

// Runs laporctl --config `configPath` `args...`; resolves {code, stdout, stderr,
// json}. json is the parsed stdout when `args` has --json (parse errors throw).
// A non-zero exit is not an error here: status uses it to report health.
export async function laporctl(configPath, args, { timeoutMs = 10000, env = {} } = {}) {
  const bin = await binaryFromEnv('LAPORCTL');
  const { code, signal, stdout, stderr } = await runProgram(bin, ['--config', configPath, ...args], {
    env: { ...process.env, ...env }, timeoutMs,
  });
  let json = null;
  if (args.includes('--json')) {
    try {
      json = JSON.parse(stdout);
    } catch (error) {
      throw new Error(`laporctl ${args.join(' ')} (exit ${code ?? signal}) printed no JSON document ` +
        `(${error.message}); stdout: ${stdout.slice(0, 500)} stderr: ${stderr.slice(0, 500)}`);
    }
  }
  return { code, signal, stdout, stderr, json };
}

// Runs `sql` on the database read-only (sqlite3 -json, a mode=ro URI) and
// resolves the rows as objects.
export function sqlite(dbPath, sql, { timeoutMs = 10000 } = {}) {
  const uri = `file:${path.resolve(dbPath).replace(/[%?#]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}?mode=ro`;
  return new Promise((resolve, reject) => {
    execFile('sqlite3', ['-json', '-bail', uri, sql], { timeout: timeoutMs, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`sqlite3 ${dbPath} "${sql}" failed: ${stderr.trim() || error.message}`));
          return;
        }
        const text = stdout.trim();
        try {
          resolve(text ? JSON.parse(text) : []);
        } catch (parseError) {
          reject(new Error(`sqlite3 printed no JSON (${parseError.message}): ${text.slice(0, 300)}`));
        }
      });
  });
}

// Polls `predicate` (may be async) until it returns a truthy value, which is
// resolved. Errors it throws are remembered and retried. Gives up after
// `timeoutMs` with a message naming `what` (a string, or a function called
// then for the current state), at once when `daemon` has exited.
export async function waitFor(predicate, { timeoutMs = 10000, intervalMs = 100, what = 'a condition', daemon = null } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError = null;
  for (;;) {
    const describe = () => (typeof what === 'function' ? what() : what);
    daemon?.assertRunning(`waiting for ${describe()}`);
    try {
      const value = await predicate();
      if (value) {
        return value;
      }
      lastError = null;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}` +
        (lastError ? `; last error: ${lastError.message}` : ''));
    }
    await sleep(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

// --- the whole rig -------------------------------------------------------------

// Starts the SMSC simulator and the API double, writes the config and starts
// laporsmsd in `workdir` (all torn down when it closes), and waits for the
// daemon's first bind. `config` goes to writeConfig as overrides (or is a
// function of {sim, api} returning them, for values known only once they run).
export async function startStack(workdir, { config = {}, api: apiOptions = {}, smsc: smscOptions = {},
  waitForBind = true, bindTimeoutMs = 15000, env = {} } = {}) {
  const sim = new SmscSimulator({ logger: workdir.logger, ...smscOptions });
  await sim.start();
  workdir.defer(() => sim.stop());
  const api = new ApiDouble({ logger: workdir.logger, ...apiOptions });
  await api.start();
  workdir.defer(() => api.stop());
  const configPath = await writeConfig(workdir.path, {
    smscPort: sim.port,
    apiUrl: api.url,
    apiToken: api.token,
    ...(typeof config === 'function' ? config({ sim, api }) : config),
  });
  const daemon = await startDaemon(configPath, { workdir, env });
  if (waitForBind) {
    await waitFor(() => sim.bindAttempts.some((a) => a.ok), {
      timeoutMs: bindTimeoutMs, what: () => `laporsmsd to bind (${sim.bindAttempts.length} attempts so far)`, daemon,
    });
  }
  return { sim, api, daemon, configPath, dbPath: path.join(workdir.path, 'laporsms.db') };
}

// Like startStack, with one SMSC simulator per link: `links` is a list of
// {name, sim: SmscSimulator options, ...[[smsc]] keys for that link}. The
// config gets one [[smsc]] table per link, in order, each pointing at its
// simulator. Resolves {sims: {name: SmscSimulator}, api, daemon, configPath,
// dbPath}; waits for every link's first bind unless `waitForBind` is false.
export async function startLinks(workdir, { links, config = {}, api: apiOptions = {}, waitForBind = true,
  bindTimeoutMs = 15000 } = {}) {
  if (!Array.isArray(links) || links.length === 0) {
    throw new Error('startLinks needs a non-empty list of links');
  }
  const sims = {};
  const tables = [];
  for (const { name, sim: simOptions = {}, ...keys } of links) {
    if (!name || sims[name]) {
      throw new Error(`startLinks: link names must be given and unique (${name})`);
    }
    const sim = new SmscSimulator({ logger: (line) => workdir.logger(`[${name}] ${line}`), ...simOptions });
    await sim.start();
    workdir.defer(() => sim.stop());
    sims[name] = sim;
    tables.push({ name, port: sim.port, ...keys });
  }
  const api = new ApiDouble({ logger: workdir.logger, ...apiOptions });
  await api.start();
  workdir.defer(() => api.stop());
  const overrides = typeof config === 'function' ? config({ sims, api }) : config;
  const configPath = await writeConfig(workdir.path, {
    smscPort: tables[0].port,
    apiUrl: api.url,
    apiToken: api.token,
    ...overrides,
    smsc: tables,
  });
  const daemon = await startDaemon(configPath, { workdir });
  if (waitForBind) {
    for (const [name, sim] of Object.entries(sims)) {
      await waitFor(() => sim.bindAttempts.some((a) => a.ok), {
        timeoutMs: bindTimeoutMs, what: () => `laporsmsd to bind link ${name} (${sim.bindAttempts.length} attempts so far)`,
        daemon,
      });
    }
  }
  return { sims, api, daemon, configPath, dbPath: path.join(workdir.path, 'laporsms.db') };
}

// The stderr lines of `daemon` matching `regex`.
export function linesMatching(daemon, regex) {
  return daemon.lines.filter((line) => regex.test(line));
}

// One laporsmsd log line (not under the journal) read as its parts:
// {time, level, message, fields: {key: value}}, or null when the line is not
// "<time> <level> <message>( key=value)*" with each value bare or "quoted"
// (\" \\ \n \r \t \xNN inside quotes), as util/log.hpp writes it.
export function parseLogLine(line) {
  const head = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (debug|info|warning|error) /.exec(line);
  if (!head) {
    return null;
  }
  const rest = line.slice(head[0].length);
  const firstField = / [a-z][a-z0-9_]*=/.exec(rest);
  const message = firstField ? rest.slice(0, firstField.index) : rest;
  const fields = {};
  let at = firstField ? firstField.index : rest.length;
  const token = /^ ([a-z][a-z0-9_]*)=("(?:[^"\\]|\\["\\nrt]|\\x[0-9A-F]{2})*"|[^ "=\\]+)/;
  while (at < rest.length) {
    const m = token.exec(rest.slice(at));
    if (!m) {
      return null;
    }
    const raw = m[2];
    fields[m[1]] = raw.startsWith('"')
      ? raw.slice(1, -1).replace(/\\(x[0-9A-F]{2}|.)/g, (_, e) => (e.length === 3
        ? String.fromCharCode(parseInt(e.slice(1), 16))
        : { n: '\n', r: '\r', t: '\t' }[e] ?? e))
      : raw;
    at += m[0].length;
  }
  return { time: head[1], level: head[2], message, fields };
}
