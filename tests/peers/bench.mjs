// The benchmark behind scripts/bench: laporsmsd between a load-generating
// SMSC (bench-load.mjs, its own process) and the LAPOR! API double (in this
// process), one fresh stack and database per scenario, on the real disk.
//
//   node tests/peers/bench.mjs --laporsmsd PATH [--laporctl PATH] [--quick]
//        [--only NAME[,NAME]] [--adapter lapor-xml|rest-json] [--concurrency N]
//        [--log-level info] [--dir DIR] [--keep]
//
// Scenarios: MO offered on a schedule at 100, 1,000 and 10,000 per second
// (synchronous = full), and as fast as they are acknowledged with 100
// deliver_sm outstanding (synchronous = full and normal). For each: MO
// acknowledged per second, deliver_sm → deliver_sm_resp latency seen by the
// SMSC, end-to-end throughput (every report forwarded upstream and both its
// replies submitted), the daemon's CPU time per report and peak RSS, and the
// CPU the load generator and the API double spent, so a saturated peer shows.
//
// Prints a Markdown report and writes it to bench-results.md in the work
// directory (printed). Everything runs on 127.0.0.1 with ports chosen at run
// time, every wait is bounded, and everything started is stopped at the end.

import { execFileSync, fork, spawn } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readFileSync, readdirSync, statSync, statfsSync, writeSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { ApiDouble } from './api-double.mjs';
import { laporctl, sqlite, writeConfig } from '../integration/harness.mjs';

const k_here = path.dirname(fileURLToPath(import.meta.url));
const k_repo = path.resolve(k_here, '..', '..');
const k_tmpfs_magic = 0x01021994;
const k_ramfs_magic = 0x858458f6;
const k_clock_ticks = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in these
const k_warmup_reports = 200;
const k_bind_timeout_ms = 20000;
const k_stop_timeout_ms = 20000;

// --- options -------------------------------------------------------------------

function usage(code) {
  process.stdout.write(
    'usage: node tests/peers/bench.mjs --laporsmsd PATH [--laporctl PATH] [--quick]\n' +
    '         [--only NAME[,NAME]] [--adapter lapor-xml|rest-json] [--concurrency N]\n' +
    '         [--log-level debug|info|warning|error] [--dir DIR] [--keep]\n' +
    '  --quick      short runs (a smoke test of the benchmark, not figures to quote)\n' +
    '  --only       run only the named scenarios: rate-100, rate-1k, rate-10k, max-full, max-normal\n' +
    '  --adapter    the [upstream] adapter the API double serves (default lapor-xml)\n' +
    '  --concurrency  [upstream] concurrency (default 8)\n' +
    '  --log-level  the daemon\'s log_level (default info; its log goes to a file)\n' +
    '  --dir        where the work directory goes (default: os.tmpdir(); must not be tmpfs)\n' +
    '  --keep       keep every scenario\'s database and daemon log\n');
  process.exit(code);
}

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        laporsmsd: { type: 'string' },
        laporctl: { type: 'string' },
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
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
  o.laporsmsd = path.resolve(o.laporsmsd);
  if (o.laporctl) {
    o.laporctl = path.resolve(o.laporctl);
  }
  return o;
}

function scenarios(quick) {
  const d = quick ? 2000 : 10000;
  const idleMs = quick ? 1000 : 5000;
  // An SMSC keeps sending on schedule while answers are late, up to its own
  // window; 10,000 outstanding is a second of the highest rate offered.
  const rateWindow = 10000;
  return [
    { name: 'rate-100', mode: 'rate', rate: 100, window: rateWindow, durationMs: d, synchronous: 'full', idleMs },
    { name: 'rate-1k', mode: 'rate', rate: 1000, window: rateWindow, durationMs: d, synchronous: 'full', idleMs },
    { name: 'rate-10k', mode: 'rate', rate: 10000, window: rateWindow, durationMs: quick ? 1000 : d, synchronous: 'full', idleMs },
    { name: 'max-full', mode: 'window', window: 100, durationMs: d, synchronous: 'full', idleMs },
    { name: 'max-normal', mode: 'window', window: 100, durationMs: d, synchronous: 'normal', idleMs },
  ];
}

// --- /proc ---------------------------------------------------------------------

// utime and stime of a process (all its threads, live and exited) in ms.
function processCpu(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const user = (Number(fields[11]) * 1000) / k_clock_ticks;
  const sys = (Number(fields[12]) * 1000) / k_clock_ticks;
  return { user, sys, total: user + sys };
}

function processCpuMs(pid) {
  return processCpu(pid).total;
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
      const timer = setTimeout(() => reject(new Error(`laporsmsd did not bind within ${timeoutMs} ms`)), timeoutMs);
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

// --- the daemon ------------------------------------------------------------------

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

// Starts laporsmsd with stderr going straight to a file: this process hosts
// the API double and must not spend CPU on the daemon's log lines.
function startDaemon(bin, configPath, logPath) {
  const fd = openSync(logPath, 'a');
  const env = { ...process.env };
  delete env.JOURNAL_STREAM;
  delete env.LAPORSMS_CONFIG;
  const child = spawn(bin, ['--config', configPath], { stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  g_children.add(child);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.on('error', (error) => {
      exitInfo = { error: error.message };
      g_children.delete(child);
      resolve(exitInfo);
    });
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      g_children.delete(child);
      resolve(exitInfo);
    });
  });
  return {
    pid: child.pid,
    exited,
    get exitInfo() {
      return exitInfo;
    },
    async stop() {
      if (exitInfo) {
        return exitInfo;
      }
      child.kill('SIGTERM');
      const result = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), k_stop_timeout_ms))]);
      if (result === null) {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`laporsmsd did not exit within ${k_stop_timeout_ms} ms of SIGTERM; killed`);
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

// Rejects when `daemon` exits before `promise` settles.
function whileRunning(daemon, promise, logPath) {
  return Promise.race([
    promise,
    daemon.exited.then((info) => {
      throw new Error(`laporsmsd exited (${JSON.stringify(info)}); last log lines:\n${logTail(logPath)}`);
    }),
  ]);
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

// --- one scenario ----------------------------------------------------------------------

async function runScenario(o, base, s) {
  const dir = await mkdtemp(path.join(base, `${s.name}-`));
  const logPath = path.join(dir, 'laporsmsd.log');
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
      store: { synchronous: s.synchronous },
      upstream: { adapter: o.adapter, concurrency: o.concurrency, timeout: '10s', retry_min: '1s', retry_max: '5s' },
      daemon: { log_level: o['log-level'], shutdown_grace: '5s' },
    });
    const bound = gen.waitForBind(k_bind_timeout_ms);
    const daemon = startDaemon(o.daemonCopy, configPath, logPath);
    cleanups.push(() => daemon.stop());
    await whileRunning(daemon, bound, logPath);

    // Warm-up (phase 0): caches, prepared statements, HTTP keep-alive.
    const warm = await whileRunning(daemon, gen.request('run', {
      phase: 0, mode: 'window', maxOutstanding: 10, durationMs: 30000, limit: k_warmup_reports, ackTimeoutMs: 20000,
    }), logPath);
    const warmReplies = await whileRunning(daemon, gen.request('waitReplies', {
      phase: 0, received: warm.acked, forwarded: warm.acked, timeoutMs: 30000,
    }), logPath);
    if (warm.acked !== k_warmup_reports || !warmReplies.reached) {
      throw new Error(`warm-up did not complete: ${warm.acked}/${k_warmup_reports} acknowledged, ` +
        `${warmReplies.received} received and ${warmReplies.forwarded} forwarded replies`);
    }
    await waitPosts(counts, 0, warm.acked, 10000);

    // What the daemon spends doing nothing (timers, polling): part of every figure below.
    const idleStart = { cpu: processCpuMs(daemon.pid), wall: performance.now() };
    await whileRunning(daemon, sleep(s.idleMs), logPath);
    const idleCpuPct = (100 * (processCpuMs(daemon.pid) - idleStart.cpu)) / (performance.now() - idleStart.wall);

    // The measured run (phase 1).
    const before = {
      daemonMs: processCpuMs(daemon.pid),
      daemon: processCpu(daemon.pid),
      threads: threadCpuNs(daemon.pid),
      genMs: processCpuMs(gen.pid),
      self: process.cpuUsage(),
      machine: machineJiffies(),
      wall: performance.now(),
    };
    const run = await whileRunning(daemon, gen.request('run', {
      phase: 1, mode: s.mode, rate: s.rate, maxOutstanding: s.window, durationMs: s.durationMs, ackTimeoutMs: 60000,
    }), logPath);
    const drainMs = Math.min(600000, Math.max(60000, run.acked * 5));
    const replies = await whileRunning(daemon, gen.request('waitReplies', {
      phase: 1, received: run.acked, forwarded: run.acked, timeoutMs: drainMs,
    }, drainMs + 10000), logPath);
    await waitPosts(counts, 1, run.acked, replies.reached ? 10000 : 0);
    const after = {
      daemonMs: processCpuMs(daemon.pid),
      daemon: processCpu(daemon.pid),
      threads: threadCpuNs(daemon.pid),
      genMs: processCpuMs(gen.pid),
      self: process.cpuUsage(before.self),
      machine: machineJiffies(),
      wall: performance.now(),
    };
    const rssPeakKb = statusKb(daemon.pid, 'VmHWM');
    const rssNowKb = statusKb(daemon.pid, 'VmRSS');
    counts.flushRequests();

    const wallMs = after.wall - before.wall;
    const daemonCpuMs = after.daemonMs - before.daemonMs;
    const threadMs = Object.entries(after.threads)
      .map(([tid, ns]) => ({ tid, ms: (ns - (before.threads[tid] ?? 0)) / 1e6, main: String(daemon.pid) === tid }))
      .filter((t) => t.ms >= 1)
      .sort((a, b) => b.ms - a.ms);
    const posts = counts.phase(1);
    const endAt = replies.reached ? Math.max(replies.lastForwardedAt, replies.lastReceivedAt) : null;
    const stored = await sqlite(path.join(dir, 'laporsms.db'),
      `SELECT count(*) AS n FROM reports WHERE msisdn LIKE '6281201%'`).then((rows) => rows[0].n).catch((e) => `? (${e.message})`);
    let queues = null;
    let store = null;
    if (o.laporctl) {
      const st = await laporctl(configPath, ['--json', 'status'], { timeoutMs: 30000 })
        .catch((error) => ({ error }));
      queues = st.error ? { error: st.error.message.slice(0, 120) }
        : st.json?.queues ?? { error: `no queues in ${st.stdout.slice(0, 80)}` };
      store = st.json?.store ?? null; // writer transactions and tasks since start (warm-up included)
    }

    const result = {
      ...s,
      run,
      replies,
      posts: posts.posts,
      distinctPosted: posts.senders.size,
      failedRequests: counts.failedRequests,
      stored,
      queues,
      store,
      e2eSeconds: endAt ? (endAt - run.startEpochMs) / 1000 : null,
      e2ePerSec: endAt ? run.acked / ((endAt - run.startEpochMs) / 1000) : null,
      wallMs,
      daemonCpuMs,
      daemonCpuUsPerReport: run.acked ? (daemonCpuMs * 1000) / run.acked : null,
      daemonUserUsPerReport: run.acked ? ((after.daemon.user - before.daemon.user) * 1000) / run.acked : null,
      daemonSysUsPerReport: run.acked ? ((after.daemon.sys - before.daemon.sys) * 1000) / run.acked : null,
      daemonCpuPct: (100 * daemonCpuMs) / wallMs,
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
      logPath,
    };
    const stopInfo = await daemon.stop();
    result.daemonExit = stopInfo;
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

function offered(r) {
  return r.mode === 'rate' ? `${f(r.rate)}/s` : `max, window ${r.window}`;
}

function report({ o, machine, fsync, version, results, errors, started, finished, command, base }) {
  const lines = [];
  lines.push(`# laporsmsd benchmark${o.quick ? ' (quick: smoke run, not figures to quote)' : ''}`);
  lines.push('');
  lines.push(`- command: \`${command}\``);
  lines.push(`- node command: \`node ${path.relative(k_repo, fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}\``);
  lines.push(`- date: ${started.toISOString()} (took ${f((finished - started) / 1000)} s)`);
  lines.push(`- machine: ${machine.nproc} CPUs (${machine.model}), ${f(machine.memMiB)} MiB RAM, ${machine.kernel}, node ${machine.node}; ` +
    `load average at start ${machine.loadavg}`);
  lines.push(`- store: ${base} on ${machine.fsType}; fdatasync of 4 KiB there: p50 ${ms(fsync.p50)} ms, p99 ${ms(fsync.p99)} ms`);
  lines.push(`- laporsmsd: ${version}, ${o.laporsmsd} built ${o.builtAt.toISOString()} (checkout ${machine.commit}); log_level ${o['log-level']} to a file; ` +
    `upstream ${o.adapter}, concurrency ${o.concurrency}; SMPP submit window 100, submit_rate unlimited`);
  lines.push(`- each scenario: fresh database, ${k_warmup_reports} MO warm-up (not counted), then the run; every MO is a ` +
    '`LAPORYAI` report from its own sender, so each one is stored, forwarded once and answered with `received` and `forwarded`');
  lines.push('');
  lines.push('| scenario | synchronous | offered | sent MO/s | acked MO/s | ack p50 ms | p95 ms | p99 ms | max ms | end-to-end reports/s | daemon CPU µs/report (user + sys) | daemon CPU % | peak RSS MiB |');
  lines.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const l = r.run.latencyMs;
    lines.push(`| ${r.name} | ${r.synchronous} | ${offered(r)} | ${f(r.run.offeredPerSec)} | ${f(r.run.ackedPerSec)} | ` +
      `${ms(l.p50)} | ${ms(l.p95)} | ${ms(l.p99)} | ${ms(l.max)} | ${f(r.e2ePerSec)} | ` +
      `${f(r.daemonCpuUsPerReport)} (${f(r.daemonUserUsPerReport)} + ${f(r.daemonSysUsPerReport)}) | ` +
      `${f(r.daemonCpuPct)} | ${f(r.rssPeakMiB, 1)} |`);
  }
  lines.push('');
  lines.push('Where the CPU went, over each run from the first MO until the last reply was submitted ' +
    `(100 % = one core; the machine has ${machine.nproc}, so ${machine.nproc * 100} % in all). "idle" is the daemon bound ` +
    'and doing nothing, sampled before the run; "other" is whatever else ran on the machine meanwhile, kernel ' +
    'threads (disk I/O) included:');
  lines.push('');
  lines.push('| scenario | wall s | laporsmsd % | laporsmsd threads % (main first) | laporsmsd idle % | load generator % | API double % | other % |');
  lines.push('| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const threads = r.threadMs.slice().sort((a, b) => (b.main - a.main) || (b.ms - a.ms))
      .map((t) => f((100 * t.ms) / r.wallMs)).join(' / ');
    const others = r.machineBusyPct * machine.nproc - r.daemonCpuPct - r.genCpuPct - r.apiCpuPct;
    lines.push(`| ${r.name} | ${f(r.wallMs / 1000, 1)} | ${f(r.daemonCpuPct)} | ${threads} | ${f(r.idleCpuPct, 1)} | ` +
      `${f(r.genCpuPct)} | ${f(r.apiCpuPct)} | ${f(Math.max(0, others))} |`);
  }
  lines.push('');
  lines.push('Counts (every acknowledged MO must be stored, posted upstream once and answered twice):');
  lines.push('');
  lines.push('| scenario | sent | acked | rejected | unanswered | stored | posted (distinct) | failed API requests | `received` | `forwarded` | other replies | end-to-end s | queues after | store commits (tasks each), fsynced |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |');
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
    lines.push(`| ${r.name} | ${f(r.run.sent)} | ${f(r.run.acked)} | ${rejected} | ${f(r.run.unanswered)} | ${typeof r.stored === 'number' ? f(r.stored) : r.stored} | ` +
      `${f(r.posts)} (${f(r.distinctPosted)}) | ${f(r.failedRequests)} | ${f(r.replies.received)} | ${f(r.replies.forwarded)} | ` +
      `${f(r.replies.other)} | ${r.e2eSeconds === null ? 'not drained' : f(r.e2eSeconds, 1)} | ${q} | ` +
      `${r.store ? `${f(r.store.transactions)} (${f(r.store.tasks / Math.max(1, r.store.transactions), 1)}), ${f(r.store.fsynced_transactions ?? 0)}` : '–'} |`);
  }
  lines.push('');
  lines.push('How it is measured: the load generator (tests/peers/bench-load.mjs, a separate node process) is the SMSC; ' +
    'it stamps each deliver_sm with `performance.now()` as it writes it and again when the deliver_sm_resp is read, ' +
    'so the latency includes both event loops and loopback TCP. "offered" runs send on a 1 ms schedule with at most ' +
    `${f(10000)} deliver_sm unanswered; "max" runs keep exactly the window unanswered. acked MO/s counts ESME_ROK answers ` +
    'over the sending time (or until the last answer, if later). End-to-end reports/s is acked MO divided by the time from ' +
    'the first deliver_sm until the last `received`/`forwarded` submit_sm reached the SMSC. Daemon CPU is utime + stime ' +
    'from /proc/<pid>/stat over that whole time (intake, forwarding and both replies), divided by acked MO; peak RSS is ' +
    'VmHWM of the daemon at the end of the run (warm-up included).');
  for (const r of results) {
    const notes = [];
    if (r.run.windowStalls && r.mode === 'rate') {
      notes.push(`the ${f(r.window)}-outstanding limit held sending back on ${f(r.run.windowStalls)} ticks`);
    }
    if (r.run.hitLimit) {
      notes.push(`the run stopped early at ${f(r.run.sent)} MO, the most one run can number`);
    }
    if (r.run.sessionLost) {
      notes.push('the SMPP session was lost during the run');
    }
    if (r.e2eSeconds === null) {
      notes.push('replies did not all arrive within the drain time');
    }
    if (r.genRunCpuPct > 80) {
      notes.push(`the load generator was busy ${f(r.genRunCpuPct)} % of a core while sending: near saturation`);
    }
    if (r.apiCpuPct > 80) {
      notes.push(`the API double was busy ${f(r.apiCpuPct)} % of a core: near saturation`);
    }
    if (r.daemonExit && (r.daemonExit.code !== 0 || r.daemonExit.signal)) {
      notes.push(`laporsmsd exited with ${JSON.stringify(r.daemonExit)} on SIGTERM`);
    }
    if (notes.length) {
      lines.push('');
      lines.push(`Note on ${r.name}: ${notes.join('; ')}.`);
    }
  }
  for (const e of errors) {
    lines.push('');
    lines.push(`**${e.name} failed**: ${e.message.split('\n')[0]}`);
  }
  return `${lines.join('\n')}\n`;
}

// --- main --------------------------------------------------------------------------------

async function main() {
  const o = options();
  const started = new Date();
  const parent = path.resolve(o.dir ?? os.tmpdir());
  const fsType = statfsSync(parent).type;
  if (fsType === k_tmpfs_magic || fsType === k_ramfs_magic) {
    throw new Error(`${parent} is in memory (tmpfs): fsync would cost nothing there; pass --dir on a real disk`);
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
  const command = process.env.BENCH_COMMAND ?? `node tests/peers/bench.mjs ${process.argv.slice(2).join(' ')}`;
  process.stderr.write(`work directory ${base}\n`);

  const only = o.only ? new Set(o.only.split(',')) : null;
  const list = scenarios(o.quick).filter((s) => !only || only.has(s.name));
  if (only && list.length !== only.size) {
    throw new Error(`--only: unknown scenario among ${o.only}; known: ${scenarios(false).map((s) => s.name).join(', ')}`);
  }
  const results = [];
  const errors = [];
  for (const s of list) {
    process.stderr.write(`${s.name}: ${offered(s)}, synchronous=${s.synchronous}, ${s.durationMs / 1000} s ... `);
    try {
      const r = await runScenario(o, base, s);
      results.push(r);
      process.stderr.write(`acked ${f(r.run.ackedPerSec)} MO/s, p99 ${ms(r.run.latencyMs.p99)} ms, ` +
        `end-to-end ${f(r.e2ePerSec)}/s, ${f(r.daemonCpuUsPerReport)} µs CPU/report\n`);
    } catch (error) {
      errors.push({ name: s.name, message: error.message });
      process.stderr.write(`FAILED: ${error.message}\n`);
    }
  }
  await rm(o.daemonCopy, { force: true });
  if (o.laporctl) {
    await rm(process.env.LAPORCTL, { force: true });
  }
  const text = report({ o, machine, fsync, version, results, errors, started, finished: new Date(), command, base });
  const out = path.join(base, 'bench-results.md');
  await writeFile(out, text);
  process.stdout.write(text);
  process.stdout.write(`\nwritten to ${out}\n`);
  return errors.length ? 1 : 0;
}

main().then((code) => {
  process.exitCode = code;
}, (error) => {
  process.stderr.write(`bench: ${error.stack ?? error.message}\n`);
  killChildren();
  process.exitCode = 1;
});
