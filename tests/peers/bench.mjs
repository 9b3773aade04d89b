// The benchmark behind scripts/bench: laporsmsd and Kannel 1.4.5 side by
// side, each between the same load-generating SMSC (bench-load.mjs, its own
// process) and the same LAPOR! API double (in this process), one fresh stack
// and store per run, on the real disk, in alternating rounds.
//
//   node tests/peers/bench.mjs --laporsmsd PATH [--laporctl PATH]
//        [--bearerbox PATH --smsbox PATH] [--quick] [--rounds N]
//        [--only NAME[,NAME]] [--targets T[,T]] [--all] [--adapter lapor-xml|rest-json]
//        [--concurrency N] [--log-level info] [--dir DIR] [--keep]
//
// Scenarios, each run against laporsmsd with synchronous = full, with
// synchronous = normal, and against Kannel (bearerbox + smsbox with the config
// of tests/peers/kannel/, which has no such setting and never fsyncs): GSM
// single-part reports as fast as they are acknowledged with 10 deliver_sm
// outstanding, UCS-2 three-part reports (UDH) the same way, and GSM reports
// offered on a schedule at 100 and 1,000 per second. laporsmsd-only scenarios
// (--all, or by name with --only): 10,000 per second offered, and a window of
// 100 with synchronous = full and normal.
//
// For each run: deliver_sm → deliver_sm_resp latency seen by the SMSC,
// end-to-end reports per second (every report posted to the API double and
// its replies submitted: two from laporsmsd, `received` and `forwarded`, one
// from Kannel, the API's answer), the CPU time of the gateway's processes per
// report (utime + stime from /proc of laporsmsd, or of bearerbox + smsbox,
// children included), their peak RSS (VmHWM, summed), and the CPU the load
// generator and the API double spent, so a saturated peer shows. Per scenario
// and gateway: the median and the spread (min–max) over the rounds, and the
// ratios laporsmsd / Kannel.
//
// Prints a Markdown report and writes it to bench-results.md, and every run
// and summary to bench-results.json, in the work directory (both printed).
// Everything runs on 127.0.0.1 with ports chosen at run time, every wait is
// bounded, and everything started is stopped at the end (also on an error or
// Ctrl-C).

import { execFileSync, fork, spawn } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readFileSync, readdirSync, statSync, statfsSync, writeSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { ApiDouble } from './api-double.mjs';
import { freePort, laporctl, sqlite, writeConfig } from '../integration/harness.mjs';

const k_here = path.dirname(fileURLToPath(import.meta.url));
const k_repo = path.resolve(k_here, '..', '..');
const k_kannel_template = path.join(k_here, 'kannel', 'kannel.conf');
const k_tmpfs_magic = 0x01021994;
const k_ramfs_magic = 0x858458f6;
const k_clock_ticks = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in these
const k_warmup_reports = 200;
const k_bind_timeout_ms = 20000;
const k_stop_timeout_ms = 20000;
const k_busy_pct = 80; // a peer above this share of a core may be what limits a run

// What a run is against. Kannel has no synchronous setting: it never fsyncs.
const k_targets = Object.freeze({
  'laporsmsd-full': { gateway: 'laporsmsd', synchronous: 'full', label: 'laporsmsd, synchronous = full', repliesPerReport: 2 },
  kannel: { gateway: 'kannel', synchronous: null, label: 'Kannel 1.4.5', repliesPerReport: 1 },
  'laporsmsd-normal': { gateway: 'laporsmsd', synchronous: 'normal', label: 'laporsmsd, synchronous = normal', repliesPerReport: 2 },
});
const k_kannel_log_levels = Object.freeze({ debug: 0, info: 1, warning: 2, error: 3 });

// --- options -------------------------------------------------------------------

function usage(code) {
  process.stdout.write(
    'usage: node tests/peers/bench.mjs --laporsmsd PATH [--laporctl PATH] [--bearerbox PATH --smsbox PATH]\n' +
    '         [--quick] [--rounds N] [--only NAME[,NAME]] [--targets T[,T]] [--all]\n' +
    '         [--adapter lapor-xml|rest-json] [--concurrency N]\n' +
    '         [--log-level debug|info|warning|error] [--dir DIR] [--keep]\n' +
    '  --quick      one short round (a smoke test of the benchmark, not figures to quote)\n' +
    '  --rounds     rounds of every scenario against every target (default 3; 1 with --quick)\n' +
    `  --only       run only the named scenarios: ${scenarios(false).map((s) => s.name).join(', ')}\n` +
    '  --targets    run only against these: laporsmsd-full, kannel, laporsmsd-normal (default all three)\n' +
    '  --all        add the laporsmsd-only scenarios (rate-10k, max-full, max-normal) to the default set\n' +
    '  --bearerbox, --smsbox  Kannel\'s binaries (scripts/bench passes them; needed for the target kannel)\n' +
    '  --adapter    the [upstream] adapter of laporsmsd (default lapor-xml)\n' +
    '  --concurrency  laporsmsd\'s [upstream] concurrency (default 8)\n' +
    '  --log-level  the gateways\' log level (default info; their logs go to files)\n' +
    '  --dir        where the work directory goes (default: os.tmpdir(); must not be tmpfs)\n' +
    '  --keep       keep every run\'s store and logs\n');
  process.exit(code);
}

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        laporsmsd: { type: 'string' },
        laporctl: { type: 'string' },
        bearerbox: { type: 'string' },
        smsbox: { type: 'string' },
        quick: { type: 'boolean', default: false },
        rounds: { type: 'string' },
        only: { type: 'string' },
        targets: { type: 'string' },
        all: { type: 'boolean', default: false },
        adapter: { type: 'string', default: 'lapor-xml' },
        concurrency: { type: 'string', default: '8' },
        'log-level': { type: 'string', default: 'info' },
        dir: { type: 'string' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    usage(64);
  }
  const o = parsed.values;
  if (o.help) {
    usage(0);
  }
  if (!o.laporsmsd) {
    process.stderr.write('--laporsmsd PATH is required\n');
    usage(64);
  }
  if (!['lapor-xml', 'rest-json'].includes(o.adapter)) {
    process.stderr.write(`--adapter must be lapor-xml or rest-json, not ${o.adapter}\n`);
    usage(64);
  }
  if (!['debug', 'info', 'warning', 'error'].includes(o['log-level'])) {
    process.stderr.write(`--log-level must be debug, info, warning or error, not ${o['log-level']}\n`);
    usage(64);
  }
  o.concurrency = Number(o.concurrency);
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1 || o.concurrency > 64) {
    process.stderr.write('--concurrency must be an integer from 1 to 64 ([upstream] concurrency)\n');
    usage(64);
  }
  o.rounds = Number(o.rounds ?? (o.quick ? 1 : 3));
  if (!Number.isInteger(o.rounds) || o.rounds < 1 || o.rounds > 50) {
    process.stderr.write('--rounds must be an integer from 1 to 50\n');
    usage(64);
  }
  o.targets = o.targets ? o.targets.split(',').filter(Boolean) : Object.keys(k_targets);
  for (const t of o.targets) {
    if (!k_targets[t]) {
      process.stderr.write(`--targets: unknown target ${t}; known: ${Object.keys(k_targets).join(', ')}\n`);
      usage(64);
    }
  }
  if (o.targets.includes('kannel') && (!o.bearerbox || !o.smsbox)) {
    process.stderr.write('the target kannel needs --bearerbox PATH and --smsbox PATH (scripts/bench passes them), ' +
      'or leave it out with --targets laporsmsd-full,laporsmsd-normal\n');
    usage(64);
  }
  o.laporsmsd = path.resolve(o.laporsmsd);
  if (o.laporctl) {
    o.laporctl = path.resolve(o.laporctl);
  }
  return o;
}

// `side`: run against every target; `targets`: only these (laporsmsd-only
// scenarios, not in the default set). `parts` 3: UCS-2 reports in three
// concatenated deliver_sm; `rate` counts reports; `window` counts deliver_sm.
function scenarios(quick) {
  const d = quick ? 2000 : 10000;
  const idleMs = quick ? 500 : 3000;
  // An SMSC keeps sending on schedule while answers are late, up to its own
  // window; 10,000 outstanding is a second of the highest rate offered.
  const rateWindow = 10000;
  return [
    { name: 'gsm-w10', side: true, mode: 'window', window: 10, parts: 1, durationMs: d, idleMs },
    { name: 'ucs2x3-w10', side: true, mode: 'window', window: 10, parts: 3, durationMs: d, idleMs },
    { name: 'rate-100', side: true, mode: 'rate', rate: 100, window: rateWindow, parts: 1, durationMs: d, idleMs },
    { name: 'rate-1k', side: true, mode: 'rate', rate: 1000, window: rateWindow, parts: 1, durationMs: d, idleMs },
    { name: 'rate-10k', targets: ['laporsmsd-full'], mode: 'rate', rate: 10000, window: rateWindow, parts: 1,
      durationMs: quick ? 1000 : d, idleMs },
    { name: 'max-full', targets: ['laporsmsd-full'], mode: 'window', window: 100, parts: 1, durationMs: d, idleMs },
    { name: 'max-normal', targets: ['laporsmsd-normal'], mode: 'window', window: 100, parts: 1, durationMs: d, idleMs },
  ];
}

function targetsOf(o, s) {
  return (s.side ? Object.keys(k_targets) : s.targets).filter((t) => o.targets.includes(t));
}

// --- /proc ---------------------------------------------------------------------

function statFields(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

// `pid` and every live descendant of it.
function processTree(pid) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const ppid = Number(statFields(entry)[1]);
      if (!children.has(ppid)) {
        children.set(ppid, []);
      }
      children.get(ppid).push(Number(entry));
    } catch {
      // it ended in between
    }
  }
  const out = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift();
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

// CPU time in ms of `pid` and its descendants: utime + stime of each (all
// its threads, live and exited) and cutime + cstime (its children that ended
// and were waited for). A process that already ended counts nothing.
function treeCpu(pid) {
  let user = 0;
  let sys = 0;
  for (const p of processTree(pid)) {
    try {
      const fields = statFields(p);
      user += ((Number(fields[11]) + Number(fields[13])) * 1000) / k_clock_ticks;
      sys += ((Number(fields[12]) + Number(fields[14])) * 1000) / k_clock_ticks;
    } catch {
      // it ended in between
    }
  }
  return { user, sys, total: user + sys };
}

// Nanosecond CPU time of each live thread: {tid: ns}.
function threadCpuNs(pid) {
  const out = {};
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      out[tid] = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
    } catch {
      // the thread ended in between
    }
  }
  return out;
}

// The sum of /proc/<pid>/status `key` (kB) over `pid` and its descendants.
function treeStatusKb(pid, key) {
  let sum = 0;
  for (const p of processTree(pid)) {
    try {
      sum += statusKb(p, key) ?? 0;
    } catch {
      // it ended in between
    }
  }
  return sum;
}

function statusKb(pid, key) {
  const text = readFileSync(`/proc/${pid}/status`, 'latin1');
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

// Whole-machine jiffies: {busy, total}.
function machineJiffies() {
  const line = readFileSync('/proc/stat', 'latin1').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = v[3] + v[4];
  return { busy: total - idle, total };
}

function machineInfo(dir) {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'latin1');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  let fsType = 'unknown';
  try {
    fsType = execFileSync('findmnt', ['-n', '-o', 'FSTYPE,SOURCE', '--target', dir], { encoding: 'utf8' }).trim();
  } catch {
    // findmnt missing: the statfs check below still guards against tmpfs
  }
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['-C', k_repo, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', k_repo, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim();
    if (dirty) {
      commit += ` + uncommitted changes in ${dirty.split('\n').length} file(s)`;
    }
  } catch {
    // not a git checkout
  }
  return {
    nproc: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    model,
    memMiB: Math.round(os.totalmem() / 1048576),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    fsType,
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    commit,
  };
}

// fdatasync latency of the work directory's disk: what each group commit pays at least.
function fsyncProbe(dir, n = 200) {
  const file = path.join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 0x61);
  const times = [];
  try {
    for (let i = 0; i < n; i++) {
      writeSync(fd, block, 0, block.length, (i % 64) * 4096);
      const t = performance.now();
      fsyncSync(fd);
      times.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(n * 0.5)], p99: times[Math.ceil(n * 0.99) - 1] };
}

// --- the load generator (a child process) ---------------------------------------

class LoadGenerator {
  #child;
  #next = 1;
  #pending = new Map();
  #onBound = null;

  async start() {
    this.#child = fork(path.join(k_here, 'bench-load.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    g_children.add(this.#child);
    this.pid = this.#child.pid;
    const ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('load generator did not start within 10 s')), 10000);
      this.#child.on('message', (m) => {
        if (m.event === 'ready') {
          clearTimeout(timer);
          resolve(m.port);
        } else if (m.event === 'bound') {
          this.#onBound?.();
        } else if (m.id !== undefined && this.#pending.has(m.id)) {
          const { resolve: ok, reject: fail } = this.#pending.get(m.id);
          this.#pending.delete(m.id);
          if (m.ok) {
            ok(m.result);
          } else {
            fail(new Error(`load generator: ${m.error}`));
          }
        }
      });
    });
    this.exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        g_children.delete(this.#child);
        for (const { reject } of this.#pending.values()) {
          reject(new Error(`load generator exited (${code ?? signal})`));
        }
        this.#pending.clear();
        resolve();
      });
    });
    this.port = await ready;
    return this.port;
  }

  waitForBind(timeoutMs) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the gateway did not bind within ${timeoutMs} ms`)), timeoutMs);
      this.#onBound = () => {
        clearTimeout(timer);
        this.#onBound = null;
        resolve();
      };
    });
  }

  request(cmd, args = {}, timeoutMs = 600000) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`load generator: no answer to ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#child.send({ id, cmd, ...args });
    });
  }

  async stop() {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
      return;
    }
    await this.request('stop', {}, 5000).catch(() => this.#child.kill('SIGKILL'));
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5000))]);
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGKILL');
      await this.exited;
    }
  }
}

// --- the gateways ----------------------------------------------------------------

// Everything started, each with kill(signal): killed on exit, an error or Ctrl-C.
const g_children = new Set();
function killChildren() {
  for (const child of g_children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killChildren();
    process.exit(130);
  });
}

// Starts `bin` with stdout and stderr going straight to `logPath`: this
// process hosts the API double and must not spend CPU on a gateway's log
// lines. With `group`, the program leads a process group of its own and is
// killed with everything it started.
function startProcess(name, bin, args, logPath, { group = false } = {}) {
  const fd = openSync(logPath, 'a');
  const env = { ...process.env };
  delete env.JOURNAL_STREAM;
  delete env.LAPORSMS_CONFIG;
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd], env, detached: group });
  closeSync(fd);
  const handle = {
    kill(signal) {
      if (group && child.pid) {
        try {
          process.kill(-child.pid, signal);
          return;
        } catch {
          // the group is gone: the process itself may still be there
        }
      }
      child.kill(signal);
    },
  };
  g_children.add(handle);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.on('error', (error) => {
      exitInfo = { error: error.message };
      g_children.delete(handle);
      resolve(exitInfo);
    });
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      if (!group) {
        g_children.delete(handle);
      }
      resolve(exitInfo);
    });
  });
  return {
    name,
    pid: child.pid,
    logPath,
    exited,
    get exitInfo() {
      return exitInfo;
    },
    kill: (signal) => handle.kill(signal),
    // SIGTERM, then SIGKILL after `timeoutMs`; resolves the exit, or null when it had to be killed.
    async stop(timeoutMs = k_stop_timeout_ms) {
      if (!exitInfo) {
        handle.kill('SIGTERM');
      }
      const result = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), timeoutMs))]);
      if (result === null) {
        handle.kill('SIGKILL');
        await exited;
      }
      if (group) {
        handle.kill('SIGKILL'); // anything it left in its group
        g_children.delete(handle);
      }
      return result;
    },
  };
}

function logTail(logPath, n = 15) {
  try {
    const lines = readFileSync(logPath, 'utf8').trimEnd().split('\n');
    return lines.slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

// What runScenario needs of a gateway, whichever it is:
//   processes      [{name, pid, exited, logPath}], the programs started (their
//                  descendants are found in /proc when measured)
//   guard(p)       p, rejected when a process of the gateway exits before it settles
//   stop()         stops every process; resolves {name: exit} and throws when one had to be killed
function makeGateway(kind, processes) {
  const anyExit = Promise.race(processes.map((p) => p.exited.then((info) => ({ p, info }))));
  return {
    kind,
    processes,
    guard(promise) {
      return Promise.race([
        promise,
        anyExit.then(({ p, info }) => {
          throw new Error(`${p.name} exited (${JSON.stringify(info)}); last log lines:\n${logTail(p.logPath)}`);
        }),
      ]);
    },
    async stop() {
      const out = {};
      const killed = [];
      // The first process is stopped first (Kannel's bearerbox tells smsbox to go).
      for (const p of processes) {
        const info = await p.stop();
        if (info === null) {
          killed.push(p.name);
        }
        out[p.name] = p.exitInfo;
      }
      if (killed.length) {
        throw new Error(`${killed.join(', ')} did not exit within ${k_stop_timeout_ms} ms of SIGTERM; killed`);
      }
      return out;
    },
  };
}

async function startLaporsmsd(o, dir, synchronous, smscPort, api) {
  const configPath = await writeConfig(dir, {
    smscPort,
    apiUrl: api.url,
    apiToken: api.token,
    smsc: {
      name: 'bench',
      // The SMSC answers at once; neither the submit window nor the rate
      // may be what limits the replies here.
      window: 100,
      submit_rate: 1000000,
      enquire_link_interval: '30s',
      response_timeout: '10s',
    },
    store: { synchronous },
    upstream: { adapter: o.adapter, concurrency: o.concurrency, timeout: '10s', retry_min: '1s', retry_max: '5s' },
    daemon: { log_level: o['log-level'], shutdown_grace: '5s' },
  });
  const daemon = startProcess('laporsmsd', o.daemonCopy, ['--config', configPath], path.join(dir, 'laporsmsd.log'));
  const gateway = makeGateway('laporsmsd', [daemon]);
  gateway.configPath = configPath;
  gateway.dbPath = path.join(dir, 'laporsms.db');
  return gateway;
}

// tests/peers/kannel/kannel.conf with its {{placeholders}} filled.
function kannelConfig(values) {
  const text = readFileSync(k_kannel_template, 'utf8').replace(/\{\{(\w+)\}\}/g, (whole, key) => {
    if (!(key in values)) {
      throw new Error(`${k_kannel_template}: no value for {{${key}}}`);
    }
    return String(values[key]);
  });
  return text;
}

function httpGet(url, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

// Kannel: bearerbox (bound to the SMSC by the caller's waitForBind), then
// smsbox once bearerbox takes box connections; resolves once bearerbox's
// status page shows the smsbox connected.
async function startKannel(o, dir, smscPort, api, bound) {
  const ports = { admin: await freePort(), smsbox: await freePort(), sendsms: await freePort() };
  const configPath = path.join(dir, 'kannel.conf');
  const level = k_kannel_log_levels[o['log-level']];
  await writeFile(configPath, kannelConfig({
    admin_port: ports.admin,
    smsbox_port: ports.smsbox,
    sendsms_port: ports.sendsms,
    smsc_port: smscPort,
    dir,
    log_level: level,
    post_url: api.kannelUrl,
  }), { mode: 0o600 });
  // -v: what goes to stderr (here the log file); the config's log-level is for log-file, which it has none of.
  const bearerbox = startProcess('bearerbox', o.bearerbox, ['-v', String(level), configPath],
    path.join(dir, 'bearerbox.log'), { group: true });
  const partial = makeGateway('kannel', [bearerbox]);
  try {
    await partial.guard(bound);
    const deadline = Date.now() + k_bind_timeout_ms;
    while (!(await canConnect(ports.smsbox))) {
      if (Date.now() > deadline) {
        throw new Error(`bearerbox took no box connection on port ${ports.smsbox} within ${k_bind_timeout_ms} ms`);
      }
      await partial.guard(sleep(50));
    }
  } catch (error) {
    await partial.stop().catch(() => {});
    throw error;
  }
  const smsbox = startProcess('smsbox', o.smsbox, ['-v', String(level), configPath],
    path.join(dir, 'smsbox.log'), { group: true });
  const gateway = makeGateway('kannel', [bearerbox, smsbox]);
  gateway.configPath = configPath;
  try {
    const statusUrl = `http://127.0.0.1:${ports.admin}/status.txt?password=bench`;
    const deadline = Date.now() + k_bind_timeout_ms;
    for (;;) {
      const page = await gateway.guard(httpGet(statusUrl, 2000).catch((error) => ({ status: 0, body: error.message })));
      if (page.status === 200 && /smsbox:[^\n]*on-line/i.test(page.body)) {
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`smsbox did not connect to bearerbox within ${k_bind_timeout_ms} ms; ` +
          `bearerbox status: ${page.status} ${page.body.slice(0, 300)}`);
      }
      await gateway.guard(sleep(100));
    }
  } catch (error) {
    await gateway.stop().catch(() => {});
    throw error;
  }
  return gateway;
}

// --- the API double, counting by sender ---------------------------------------------

// Counts accepted reports per load phase (digits 6-7 of the sender) and
// distinct senders, and drops the double's own records as it goes so a long
// run does not grow this process.
function countPosts(api) {
  const counts = { byPhase: new Map(), failedRequests: 0 };
  api.on('post', (post) => {
    const phase = post.telpon?.length === 13 ? Number(post.telpon.slice(5, 7)) : -1;
    let c = counts.byPhase.get(phase);
    if (!c) {
      c = { posts: 0, senders: new Set(), lastAt: 0 };
      counts.byPhase.set(phase, c);
    }
    c.posts++;
    c.senders.add(post.telpon);
    c.lastAt = post.time;
    if (api.posts.length >= 1000) {
      api.posts.length = 0;
    }
  });
  counts.flushRequests = () => {
    for (const request of api.requests) {
      if (request.status === null || request.status >= 300) {
        counts.failedRequests++;
      }
    }
    api.requests.length = 0;
  };
  counts.timer = setInterval(counts.flushRequests, 200);
  counts.phase = (p) => counts.byPhase.get(p) ?? { posts: 0, senders: new Set(), lastAt: 0 };
  return counts;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitPosts(counts, phase, n, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (counts.phase(phase).posts < n && Date.now() < deadline) {
    await sleep(20);
  }
  return counts.phase(phase).posts >= n;
}


// --- one run ---------------------------------------------------------------------------

// Per-process and whole-gateway CPU of `gateway` now.
function gatewayCpu(gateway) {
  const per = {};
  let user = 0;
  let sys = 0;
  for (const p of gateway.processes) {
    const c = treeCpu(p.pid);
    per[p.name] = c.total;
    user += c.user;
    sys += c.sys;
  }
  return { user, sys, total: user + sys, per };
}

async function runScenario(o, base, s, targetName, round) {
  const target = k_targets[targetName];
  const dir = await mkdtemp(path.join(base, `r${round}-${s.name}-${targetName}-`));
  const cleanups = [];
  let failed = true;
  try {
    const api = new ApiDouble({ adapter: o.adapter });
    await api.start();
    cleanups.push(() => api.stop());
    const counts = countPosts(api);
    cleanups.push(() => clearInterval(counts.timer));

    const gen = new LoadGenerator();
    const smscPort = await gen.start();
    cleanups.push(() => gen.stop());

    const bound = gen.waitForBind(k_bind_timeout_ms);
    bound.catch(() => {}); // awaited below; a start that fails first must not leave it unhandled
    let gateway;
    if (target.gateway === 'kannel') {
      gateway = await startKannel(o, dir, smscPort, api, bound);
    } else {
      gateway = await startLaporsmsd(o, dir, target.synchronous, smscPort, api);
    }
    let stopped = null;
    cleanups.push(async () => {
      if (!stopped) {
        await gateway.stop();
      }
    });
    await gateway.guard(bound);
    // The replies each report gets: laporsmsd `received` and `forwarded`, Kannel one (counted as `forwarded`).
    const receivedPer = target.gateway === 'laporsmsd' ? 1 : 0;

    // Warm-up (phase 0): caches, prepared statements, HTTP keep-alive.
    const warm = await gateway.guard(gen.request('run', {
      phase: 0, mode: 'window', maxOutstanding: 10, durationMs: 30000, limit: k_warmup_reports, parts: s.parts,
      ackTimeoutMs: 20000,
    }));
    const warmReplies = await gateway.guard(gen.request('waitReplies', {
      phase: 0, received: warm.reports * receivedPer, forwarded: warm.reports, timeoutMs: 30000,
    }));
    if (warm.reports !== k_warmup_reports || !warmReplies.reached) {
      throw new Error(`warm-up did not complete: ${warm.reports}/${k_warmup_reports} reports acknowledged, ` +
        `${warmReplies.received} received, ${warmReplies.forwarded} forwarded and ${warmReplies.other} other replies`);
    }
    await waitPosts(counts, 0, warm.reports, 10000);

    // What the gateway spends doing nothing (timers, polling): part of every figure below.
    const idleStart = { cpu: gatewayCpu(gateway).total, wall: performance.now() };
    await gateway.guard(sleep(s.idleMs));
    const idleCpuPct = (100 * (gatewayCpu(gateway).total - idleStart.cpu)) / (performance.now() - idleStart.wall);

    // The measured run (phase 1).
    const mainPid = gateway.processes[0].pid;
    const logBytes = () => gateway.processes.reduce((sum, p) => {
      try {
        return sum + statSync(p.logPath).size;
      } catch {
        return sum;
      }
    }, 0);
    const before = {
      logBytes: logBytes(),
      cpu: gatewayCpu(gateway),
      threads: target.gateway === 'laporsmsd' ? threadCpuNs(mainPid) : {},
      genMs: treeCpu(gen.pid).total,
      self: process.cpuUsage(),
      machine: machineJiffies(),
      wall: performance.now(),
    };
    const run = await gateway.guard(gen.request('run', {
      phase: 1, mode: s.mode, rate: s.rate, maxOutstanding: s.window, durationMs: s.durationMs, parts: s.parts,
      ackTimeoutMs: 60000,
    }));
    const drainMs = Math.min(600000, Math.max(60000, run.reports * 5));
    const replies = await gateway.guard(gen.request('waitReplies', {
      phase: 1, received: run.reports * receivedPer, forwarded: run.reports, timeoutMs: drainMs,
    }, drainMs + 10000));
    await waitPosts(counts, 1, run.reports, replies.reached ? 10000 : 0);
    const after = {
      logBytes: logBytes(),
      cpu: gatewayCpu(gateway),
      threads: target.gateway === 'laporsmsd' ? threadCpuNs(mainPid) : {},
      genMs: treeCpu(gen.pid).total,
      self: process.cpuUsage(before.self),
      machine: machineJiffies(),
      wall: performance.now(),
    };
    const rssPeakKb = gateway.processes.reduce((sum, p) => sum + treeStatusKb(p.pid, 'VmHWM'), 0);
    const rssNowKb = gateway.processes.reduce((sum, p) => sum + treeStatusKb(p.pid, 'VmRSS'), 0);
    counts.flushRequests();

    const wallMs = after.wall - before.wall;
    const cpuMs = after.cpu.total - before.cpu.total;
    const threadMs = Object.entries(after.threads)
      .map(([tid, ns]) => ({ tid, ms: (ns - (before.threads[tid] ?? 0)) / 1e6, main: String(mainPid) === tid }))
      .filter((t) => t.ms >= 1)
      .sort((a, b) => b.ms - a.ms);
    const processPct = Object.fromEntries(Object.keys(after.cpu.per)
      .map((name) => [name, (100 * (after.cpu.per[name] - before.cpu.per[name])) / wallMs]));
    const posts = counts.phase(1);
    const endAt = replies.reached ? Math.max(replies.lastForwardedAt, replies.lastReceivedAt ?? 0) : null;
    let stored = null;
    let queues = null;
    let store = null;
    if (target.gateway === 'laporsmsd') {
      stored = await sqlite(gateway.dbPath, `SELECT count(*) AS n FROM reports WHERE msisdn LIKE '6281201%'`)
        .then((rows) => rows[0].n).catch((e) => `? (${e.message})`);
      if (o.laporctl) {
        const st = await laporctl(gateway.configPath, ['--json', 'status'], { timeoutMs: 30000 })
          .catch((error) => ({ error }));
        queues = st.error ? { error: st.error.message.slice(0, 120) }
          : st.json?.queues ?? { error: `no queues in ${st.stdout.slice(0, 80)}` };
        store = st.json?.store ?? null; // writer transactions and tasks since start (warm-up included)
      }
    }
    const n = run.reports;
    const result = {
      ...s,
      round,
      target: targetName,
      gateway: target.gateway,
      label: target.label,
      synchronous: target.synchronous,
      repliesPerReport: target.repliesPerReport,
      run,
      replies,
      posts: posts.posts,
      distinctPosted: posts.senders.size,
      failedRequests: counts.failedRequests,
      stored,
      queues,
      store,
      e2eSeconds: endAt ? (endAt - run.startEpochMs) / 1000 : null,
      e2ePerSec: endAt ? n / ((endAt - run.startEpochMs) / 1000) : null,
      wallMs,
      cpuMs,
      cpuUsPerReport: n ? (cpuMs * 1000) / n : null,
      userUsPerReport: n ? ((after.cpu.user - before.cpu.user) * 1000) / n : null,
      sysUsPerReport: n ? ((after.cpu.sys - before.cpu.sys) * 1000) / n : null,
      cpuPct: (100 * cpuMs) / wallMs,
      processPct,
      idleCpuPct,
      threadMs,
      genCpuMs: after.genMs - before.genMs,
      genCpuPct: (100 * (after.genMs - before.genMs)) / wallMs,
      genRunCpuPct: (100 * run.cpuMs) / Math.max(run.sendWallMs, run.ackWallMs),
      apiCpuMs: (after.self.user + after.self.system) / 1000,
      apiCpuPct: (100 * ((after.self.user + after.self.system) / 1000)) / wallMs,
      machineBusyPct: (100 * (after.machine.busy - before.machine.busy)) / (after.machine.total - before.machine.total),
      rssPeakMiB: rssPeakKb / 1024,
      rssEndMiB: rssNowKb / 1024,
      logBytesPerReport: n ? (after.logBytes - before.logBytes) / n : null,
      logPaths: gateway.processes.map((p) => p.logPath),
    };
    stopped = true;
    result.exit = await gateway.stop();
    failed = false;
    return result;
  } finally {
    for (const fn of cleanups.reverse()) {
      await Promise.resolve().then(fn).catch((error) => process.stderr.write(`cleanup: ${error.message}\n`));
    }
    if (failed || o.keep) {
      process.stderr.write(`kept ${dir}\n`);
    } else {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

// --- summary ---------------------------------------------------------------------------

function stat(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) {
    return null;
  }
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

// The figures summarised per scenario and target, and how each is read off a run.
const k_figures = Object.freeze({
  e2ePerSec: (r) => r.e2ePerSec,
  ackedPerSec: (r) => r.run.ackedPerSec,
  ackP50: (r) => r.run.latencyMs.p50,
  ackP99: (r) => r.run.latencyMs.p99,
  ackMax: (r) => r.run.latencyMs.max,
  cpuUsPerReport: (r) => r.cpuUsPerReport,
  rssPeakMiB: (r) => r.rssPeakMiB,
  cpuPct: (r) => r.cpuPct,
  idleCpuPct: (r) => r.idleCpuPct,
  genRunCpuPct: (r) => r.genRunCpuPct,
  apiCpuPct: (r) => r.apiCpuPct,
  machineBusyPct: (r) => r.machineBusyPct,
});
// The ratios laporsmsd / Kannel reported, each of the medians and per round.
const k_ratio_figures = Object.freeze(['e2ePerSec', 'ackP50', 'ackP99', 'ackMax', 'cpuUsPerReport', 'rssPeakMiB']);

function summarize(list, results, nproc) {
  const summary = [];
  for (const s of list) {
    const rows = [];
    for (const t of s.targets) {
      const runs = results.filter((r) => r.name === s.name && r.target === t);
      if (!runs.length) {
        continue;
      }
      const figures = {};
      for (const [key, read] of Object.entries(k_figures)) {
        figures[key] = stat(runs.map(read));
      }
      rows.push({ target: t, label: k_targets[t].label, repliesPerReport: k_targets[t].repliesPerReport,
        runs: runs.length, figures });
    }
    // laporsmsd / Kannel: of the medians, and the spread of the ratios of the runs of one round.
    const ratios = [];
    const kannel = rows.find((row) => row.target === 'kannel');
    for (const row of rows) {
      if (!kannel || row === kannel) {
        continue;
      }
      const ratio = { target: row.target, vs: 'kannel', of: {} };
      for (const key of k_ratio_figures) {
        const a = row.figures[key]?.median;
        const b = kannel.figures[key]?.median;
        const perRound = [];
        for (const r of results.filter((x) => x.name === s.name && x.target === row.target)) {
          const k = results.find((x) => x.name === s.name && x.target === 'kannel' && x.round === r.round);
          const ka = k ? k_figures[key](k) : null;
          const ra = k_figures[key](r);
          if (typeof ka === 'number' && ka > 0 && typeof ra === 'number') {
            perRound.push(ra / ka);
          }
        }
        ratio.of[key] = {
          ofMedians: typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : null,
          perRound: stat(perRound),
        };
      }
      ratios.push(ratio);
    }
    // Peers near a core's worth of CPU may be what limits a run, not the gateway.
    const bottlenecks = [];
    for (const row of rows) {
      const gen = row.figures.genRunCpuPct;
      const api = row.figures.apiCpuPct;
      if (gen && gen.max > k_busy_pct) {
        bottlenecks.push({ target: row.target, peer: 'load generator', pct: gen });
      }
      if (api && api.max > k_busy_pct) {
        bottlenecks.push({ target: row.target, peer: 'API double', pct: api });
      }
      const busy = row.figures.machineBusyPct;
      if (busy && busy.median > 90) {
        bottlenecks.push({ target: row.target, peer: `the machine (${nproc} CPUs)`, pct: busy });
      }
    }
    summary.push({ name: s.name, offered: offered(s), rows, ratios, bottlenecks });
  }
  return summary;
}

// --- report --------------------------------------------------------------------------

function f(x, digits = 0) {
  if (x === null || x === undefined || Number.isNaN(x)) {
    return '–';
  }
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ms(x) {
  if (x === null || x === undefined) {
    return '–';
  }
  return x < 10 ? f(x, 2) : x < 100 ? f(x, 1) : f(x, 0);
}

function ratioText(x) {
  if (x === null || x === undefined) {
    return '–';
  }
  return x < 10 ? f(x, 2) : f(x, 1);
}

// "median (min–max)", or the one value of a single run.
function spread(st, fmt = (x) => f(x)) {
  if (!st) {
    return '–';
  }
  if (st.n === 1 || st.min === st.max) {
    return fmt(st.median);
  }
  return `${fmt(st.median)} (${fmt(st.min)}–${fmt(st.max)})`;
}

function offered(r) {
  const kind = r.parts === 3 ? 'UCS-2, 3 parts' : 'GSM, 1 part';
  return r.mode === 'rate' ? `${f(r.rate)}/s, ${kind}` : `max, window ${r.window}, ${kind}`;
}

function runLabel(r) {
  return `${r.name} r${r.round} ${r.target}`;
}

function report({ o, machine, fsync, version, kannelVersion, used, results, summary, errors, started, finished, command, base }) {
  const lines = [];
  lines.push(`# laporsmsd and Kannel, side by side${o.quick ? ' (quick: smoke run, not figures to quote)' : ''}`);
  lines.push('');
  lines.push(`- command: \`${command}\``);
  lines.push(`- node command: \`node ${path.relative(k_repo, fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}\``);
  lines.push(`- date: ${started.toISOString()} (took ${f((finished - started) / 1000)} s)`);
  lines.push(`- machine: ${machine.nproc} CPUs (${machine.model}), ${f(machine.memMiB)} MiB RAM, ${machine.kernel}, node ${machine.node}; ` +
    `load average at start ${machine.loadavg}`);
  lines.push(`- store: ${base} on ${machine.fsType}; fdatasync of 4 KiB there: p50 ${ms(fsync.p50)} ms, p99 ${ms(fsync.p99)} ms`);
  lines.push(`- laporsmsd: ${version}, ${o.laporsmsd} built ${o.builtAt.toISOString()} (checkout ${machine.commit}); log_level ${o['log-level']} to a file; ` +
    `upstream ${o.adapter}, concurrency ${o.concurrency}; SMPP submit window 100, submit_rate unlimited`);
  if (kannelVersion) {
    lines.push(`- Kannel: ${kannelVersion} (${o.bearerbox}, ${o.smsbox}), config ${path.relative(k_repo, k_kannel_template)}: ` +
      `transceiver bind, store-type file (never fsync'd), max-pending-submits 100, an sms-service for LAPORYAI posting to ` +
      `the API double (post-url); log level ${o['log-level']} to a file`);
  }
  lines.push(`- ${o.rounds} round(s), alternating: in each round every scenario runs against ${used.join(', ')} in turn ` +
    '(a laporsmsd-only scenario against its own target)');
  lines.push(`- each run: fresh stack and store, ${k_warmup_reports} reports warm-up (not counted), then the run; every MO is a ` +
    '`LAPORYAI` report from its own sender. laporsmsd stores it, forwards it once and answers it twice ' +
    '(`received`, then `forwarded` with the tracking id); Kannel stores it, posts it once and answers it once (the ' +
    'API\'s answer is the reply). End to end means every report posted and all its replies submitted: two SMS a report ' +
    'for laporsmsd, one for Kannel');
  lines.push('');
  lines.push('Medians over the rounds, (min–max) when they differ:');
  lines.push('');
  lines.push('| scenario | offered | gateway | replies per report | end-to-end reports/s | ack p50 ms | ack p99 ms | ack max ms | CPU µs per report | peak RSS MiB |');
  lines.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const sc of summary) {
    for (const row of sc.rows) {
      const g = row.figures;
      lines.push(`| ${sc.name} | ${sc.offered} | ${row.label} | ${row.repliesPerReport} | ${spread(g.e2ePerSec)} | ` +
        `${spread(g.ackP50, ms)} | ${spread(g.ackP99, ms)} | ${spread(g.ackMax, ms)} | ${spread(g.cpuUsPerReport)} | ` +
        `${spread(g.rssPeakMiB, (x) => f(x, 1))} |`);
    }
  }
  const ratioRows = summary.flatMap((sc) => sc.ratios.map((ra) => ({ sc, ra })));
  if (ratioRows.length) {
    lines.push('');
    lines.push('Ratios laporsmsd / Kannel, of the medians (min–max of the ratios within each round). End-to-end above 1 ' +
      'is laporsmsd faster; latency, CPU and RSS below 1 are laporsmsd cheaper:');
    lines.push('');
    lines.push('| scenario | laporsmsd | end-to-end reports/s | ack p50 | ack p99 | ack max | CPU per report | peak RSS |');
    lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const { sc, ra } of ratioRows) {
      const cell = (key) => {
        const x = ra.of[key];
        const pr = x.perRound;
        return pr && pr.n > 1 ? `${ratioText(x.ofMedians)} (${ratioText(pr.min)}–${ratioText(pr.max)})` : ratioText(x.ofMedians);
      };
      lines.push(`| ${sc.name} | synchronous = ${k_targets[ra.target].synchronous} | ${cell('e2ePerSec')} | ${cell('ackP50')} | ` +
        `${cell('ackP99')} | ${cell('ackMax')} | ${cell('cpuUsPerReport')} | ${cell('rssPeakMiB')} |`);
    }
  }
  lines.push('');
  lines.push(`Where the CPU went (medians; 100 % = one core, the machine has ${machine.nproc}): the gateway's processes, the load ` +
    'generator while it sent, the API double (this process) and the whole machine:');
  lines.push('');
  lines.push('| scenario | gateway | gateway % | gateway idle % | load generator % | API double % | machine busy % of all CPUs |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const sc of summary) {
    for (const row of sc.rows) {
      const g = row.figures;
      lines.push(`| ${sc.name} | ${row.label} | ${spread(g.cpuPct)} | ${spread(g.idleCpuPct, (x) => f(x, 1))} | ` +
        `${spread(g.genRunCpuPct)} | ${spread(g.apiCpuPct)} | ${spread(g.machineBusyPct)} |`);
    }
  }
  const bottlenecks = summary.flatMap((sc) => sc.bottlenecks.map((b) => ({ sc, b })));
  lines.push('');
  if (bottlenecks.length) {
    lines.push(`Where a peer or the machine may be what limits the figures (a peer over ${k_busy_pct} % of a core in some run, ` +
      'or the machine over 90 % busy):');
    lines.push('');
    for (const { sc, b } of bottlenecks) {
      lines.push(`- ${sc.name}, ${k_targets[b.target].label}: ${b.peer} busy ${spread(b.pct)} %`);
    }
  } else {
    lines.push(`No peer reached ${k_busy_pct} % of a core and the machine was never over 90 % busy: the figures are the gateways'.`);
  }

  lines.push('');
  lines.push('## Every run');
  lines.push('');
  lines.push('| run | synchronous | offered | sent deliver_sm/s | acked deliver_sm/s | ack p50 ms | p95 ms | p99 ms | max ms | end-to-end reports/s | CPU µs/report (user + sys) | gateway CPU % (per process) | peak RSS MiB |');
  lines.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const l = r.run.latencyMs;
    const per = Object.entries(r.processPct);
    const perText = per.length > 1 ? ` (${per.map(([name, pct]) => `${name} ${f(pct)}`).join(' + ')})` : '';
    lines.push(`| ${runLabel(r)} | ${r.synchronous ?? 'never fsyncs'} | ${offered(r)} | ${f(r.run.offeredPerSec)} | ${f(r.run.ackedPerSec)} | ` +
      `${ms(l.p50)} | ${ms(l.p95)} | ${ms(l.p99)} | ${ms(l.max)} | ${f(r.e2ePerSec)} | ` +
      `${f(r.cpuUsPerReport)} (${f(r.userUsPerReport)} + ${f(r.sysUsPerReport)}) | ${f(r.cpuPct)}${perText} | ${f(r.rssPeakMiB, 1)} |`);
  }
  lines.push('');
  lines.push('Where the CPU went in each run, from the first MO until the last reply was submitted ' +
    `(100 % = one core; ${machine.nproc * 100} % in all). "idle" is the gateway connected and doing nothing, sampled before ` +
    'the run; "other" is whatever else ran on the machine meanwhile, kernel threads (disk I/O) included:');
  lines.push('');
  lines.push('| run | wall s | gateway % | laporsmsd threads % (main first) | gateway idle % | load generator % | API double % | other % | gateway log bytes per report |');
  lines.push('| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const threads = r.threadMs.length ? r.threadMs.slice().sort((a, b) => (b.main - a.main) || (b.ms - a.ms))
      .map((t) => f((100 * t.ms) / r.wallMs)).join(' / ') : '–';
    const others = r.machineBusyPct * machine.nproc - r.cpuPct - r.genCpuPct - r.apiCpuPct;
    lines.push(`| ${runLabel(r)} | ${f(r.wallMs / 1000, 1)} | ${f(r.cpuPct)} | ${threads} | ${f(r.idleCpuPct, 1)} | ` +
      `${f(r.genCpuPct)} | ${f(r.apiCpuPct)} | ${f(Math.max(0, others))} | ${f(r.logBytesPerReport)} |`);
  }
  lines.push('');
  lines.push('Counts (every acknowledged report must be posted upstream once and answered: twice by laporsmsd, stored ' +
    'in its database; once by Kannel):');
  lines.push('');
  lines.push('| run | deliver_sm sent | acked | rejected | unanswered | reports acked | stored | posted (distinct) | failed API requests | `received` | `forwarded` | other replies | end-to-end s | queues after | store commits (tasks each), fsynced |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |');
  for (const r of results) {
    const rejected = r.run.rejectedCount
      ? `${r.run.rejectedCount} (${Object.entries(r.run.rejected).map(([st, n]) => `0x${Number(st).toString(16)}: ${n}`).join(', ')})`
      : '0';
    let q = '–';
    if (r.queues?.error) {
      q = `laporctl status: ${r.queues.error.replace(/\|/g, '/')}`;
    } else if (r.queues) {
      q = `upstream_pending ${r.queues.upstream_pending}, outbound_pending ${r.queues.outbound_pending}`;
    }
    const stored = r.stored === null ? '–' : typeof r.stored === 'number' ? f(r.stored) : r.stored;
    lines.push(`| ${runLabel(r)} | ${f(r.run.sent)} | ${f(r.run.acked)} | ${rejected} | ${f(r.run.unanswered)} | ${f(r.run.reports)} | ${stored} | ` +
      `${f(r.posts)} (${f(r.distinctPosted)}) | ${f(r.failedRequests)} | ${f(r.replies.received)} | ${f(r.replies.forwarded)} | ` +
      `${f(r.replies.other)} | ${r.e2eSeconds === null ? 'not drained' : f(r.e2eSeconds, 1)} | ${q} | ` +
      `${r.store ? `${f(r.store.transactions)} (${f(r.store.tasks / Math.max(1, r.store.transactions), 1)}), ${f(r.store.fsynced_transactions ?? 0)}` : '–'} |`);
  }
  lines.push('');
  lines.push('How it is measured: the load generator (tests/peers/bench-load.mjs, a separate node process) is the SMSC; ' +
    'it stamps each deliver_sm with `performance.now()` as it writes it and again when the deliver_sm_resp is read, ' +
    'so the latency includes both event loops and loopback TCP; a UCS-2 report is three deliver_sm, each with its own latency. ' +
    '"offered" runs send reports on a 1 ms schedule with at most ' +
    `${f(10000)} deliver_sm unanswered; "max" runs keep exactly the window of deliver_sm unanswered. End-to-end reports/s is ` +
    'the reports acknowledged divided by the time from the first deliver_sm until the last reply submit_sm reached the SMSC. ' +
    'CPU is utime + stime from /proc/<pid>/stat of the gateway\'s processes and their children (laporsmsd; bearerbox + ' +
    'smsbox) over that whole time (intake, forwarding and every reply), divided by the reports acknowledged; peak RSS is ' +
    'VmHWM at the end of the run (warm-up included), summed over the processes.');
  for (const r of results) {
    const notes = [];
    if (r.run.windowStalls && r.mode === 'rate') {
      notes.push(`the ${f(r.window)}-outstanding limit held sending back on ${f(r.run.windowStalls)} ticks`);
    }
    if (r.run.hitLimit) {
      notes.push(`the run stopped early at ${f(r.run.sent)} deliver_sm, the most one run can number`);
    }
    if (r.run.sessionLost) {
      notes.push('the SMPP session was lost during the run');
    }
    if (r.e2eSeconds === null) {
      notes.push('replies did not all arrive within the drain time');
    }
    if (r.replies.other) {
      notes.push(`${f(r.replies.other)} replies were neither \`received\` nor \`forwarded\``);
    }
    if (r.genRunCpuPct > k_busy_pct) {
      notes.push(`the load generator was busy ${f(r.genRunCpuPct)} % of a core while sending: near saturation`);
    }
    if (r.apiCpuPct > k_busy_pct) {
      notes.push(`the API double was busy ${f(r.apiCpuPct)} % of a core: near saturation`);
    }
    for (const [name, info] of Object.entries(r.exit ?? {})) {
      if (info && (info.code !== 0 || info.signal)) {
        notes.push(`${name} exited with ${JSON.stringify(info)} on SIGTERM`);
      }
    }
    if (notes.length) {
      lines.push('');
      lines.push(`Note on ${runLabel(r)}: ${notes.join('; ')}.`);
    }
  }
  for (const e of errors) {
    lines.push('');
    lines.push(`**${e.name} failed**: ${e.message.split('\n')[0]}`);
  }
  return `${lines.join('\n')}\n`;
}

// --- main --------------------------------------------------------------------------------

function kannelVersionOf(bin) {
  try {
    // `bearerbox --version` prints its version and exits (with status 0 or not, depending on the build).
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'pipe'] });
    return /version `([^']+)'/.exec(out)?.[0] ?? out.split('\n')[0];
  } catch (error) {
    const out = `${error.stdout ?? ''}${error.stderr ?? ''}`;
    return /version `([^']+)'/.exec(out)?.[0] ?? `unknown (${error.message.split('\n')[0]})`;
  }
}

async function main() {
  const o = options();
  const started = new Date();
  const parent = path.resolve(o.dir ?? os.tmpdir());
  const fsType = statfsSync(parent).type;
  if (fsType === k_tmpfs_magic || fsType === k_ramfs_magic) {
    throw new Error(`${parent} is in memory (tmpfs): fsync would cost nothing there; pass --dir on a real disk`);
  }
  const only = o.only ? new Set(o.only.split(',')) : null;
  const all = scenarios(o.quick);
  if (only && [...only].some((name) => !all.some((s) => s.name === name))) {
    throw new Error(`--only: unknown scenario among ${o.only}; known: ${all.map((s) => s.name).join(', ')}`);
  }
  const list = all.filter((s) => (only ? only.has(s.name) : s.side || o.all))
    .map((s) => ({ ...s, targets: targetsOf(o, s) }))
    .filter((s) => s.targets.length);
  if (!list.length) {
    throw new Error(`nothing to run: no scenario of ${o.only ?? 'the default set'} runs against ${o.targets.join(', ')}`);
  }

  const base = await mkdtemp(path.join(parent, 'laporsms-bench-'));
  // A copy, so a rebuild while the benchmark runs cannot mix two versions.
  const built = statSync(o.laporsmsd);
  o.builtAt = built.mtime;
  o.daemonCopy = path.join(base, 'laporsmsd');
  await copyFile(o.laporsmsd, o.daemonCopy);
  await chmod(o.daemonCopy, 0o755);
  if (o.laporctl) {
    // The harness's laporctl() runs $LAPORCTL.
    process.env.LAPORCTL = path.join(base, 'laporctl');
    await copyFile(o.laporctl, process.env.LAPORCTL);
    await chmod(process.env.LAPORCTL, 0o755);
  }
  const machine = machineInfo(base);
  const fsync = fsyncProbe(base);
  await rm(path.join(base, 'fsync-probe'), { force: true });
  const version = execFileSync(o.daemonCopy, ['--version'], { encoding: 'utf8', timeout: 10000 }).trim();
  const used = Object.keys(k_targets).filter((t) => list.some((s) => s.targets.includes(t)));
  const kannelVersion = used.includes('kannel') ? kannelVersionOf(o.bearerbox) : null;
  const command = process.env.BENCH_COMMAND ?? `node tests/peers/bench.mjs ${process.argv.slice(2).join(' ')}`;
  process.stderr.write(`work directory ${base}\n`);

  const results = [];
  const errors = [];
  for (let round = 1; round <= o.rounds; round++) {
    for (const s of list) {
      for (const t of s.targets) {
        process.stderr.write(`round ${round}/${o.rounds} ${s.name} ${t}: ${offered(s)}, ${s.durationMs / 1000} s ... `);
        try {
          const r = await runScenario(o, base, s, t, round);
          results.push(r);
          process.stderr.write(`${f(r.run.reports)} reports, ack p99 ${ms(r.run.latencyMs.p99)} ms, ` +
            `end-to-end ${f(r.e2ePerSec)}/s, ${f(r.cpuUsPerReport)} µs CPU/report\n`);
        } catch (error) {
          errors.push({ name: `${s.name} round ${round} ${t}`, scenario: s.name, target: t, round, message: error.message });
          process.stderr.write(`FAILED: ${error.message}\n`);
        }
      }
    }
  }
  await rm(o.daemonCopy, { force: true });
  if (o.laporctl) {
    await rm(process.env.LAPORCTL, { force: true });
  }
  const finished = new Date();
  const summary = summarize(list, results, machine.nproc);
  const text = report({ o, machine, fsync, version, kannelVersion, used, results, summary, errors, started, finished, command, base });
  const out = path.join(base, 'bench-results.md');
  await writeFile(out, text);
  const jsonOut = path.join(base, 'bench-results.json');
  await writeFile(jsonOut, `${JSON.stringify({
    command,
    started: started.toISOString(),
    finished: finished.toISOString(),
    quick: o.quick,
    rounds: o.rounds,
    targets: used,
    machine,
    fsync,
    laporsmsd: { version, path: o.laporsmsd, builtAt: o.builtAt.toISOString(), adapter: o.adapter, concurrency: o.concurrency },
    kannel: kannelVersion ? { version: kannelVersion, bearerbox: o.bearerbox, smsbox: o.smsbox,
      config: path.relative(k_repo, k_kannel_template) } : null,
    logLevel: o['log-level'],
    warmupReports: k_warmup_reports,
    scenarios: list,
    summary,
    runs: results,
    errors,
  }, null, 2)}\n`);
  process.stdout.write(text);
  process.stdout.write(`\nwritten to ${out}\nJSON: ${jsonOut}\n`);
  return errors.length ? 1 : 0;
}

main().then((code) => {
  process.exitCode = code;
}, (error) => {
  process.stderr.write(`bench: ${error.stack ?? error.message}\n`);
  killChildren();
  process.exitCode = 1;
});
