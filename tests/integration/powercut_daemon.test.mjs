// Power cuts end to end (issue 11): the daemon runs as laporsmsd_powercut
// ($LAPORSMSD_POWERCUT, tests/powercut/), whose SQLite VFS holds every write
// in memory until that file's fsync. A SIGKILL of it therefore loses exactly
// what a power cut loses: whatever was not fsync'd. Under a steady MO load it
// is cut at random instants, again and again; after each cut the -shm (memory,
// gone after a reboot) is deleted, the database is checked, and the daemon is
// started again. A last run of the ordinary laporsmsd drains the queues. The
// simulator behaves as an SMSC: an MO it holds no ESME_ROK for is delivered
// again later with the same content.
//  - right after each cut, every MO acknowledged before it is a report on
//    the disk (the claim of the README: nothing acknowledged is lost);
//  - at the end every acknowledged MO is exactly one report and one inbound
//    SMS; upstream (rest-json) got each report once by idempotency key;
//  - no reply went twice to the same number; every reply not in doubt reached
//    the SMSC exactly once; replies in doubt (`unknown`, README "How it fails
//    and recovers") are bounded by what a cut can leave in doubt: the
//    submit_sm in flight (at most the window) and those answered since the
//    last fsync'd commit, far under one window per cut on average.
//
// LAPORSMS_POWERCUT_SEED=<n> replays the cut schedule of a failed run.
// LAPORSMS_POWERCUT_SYNCHRONOUS=normal runs the same test on a store that
// does not fsync its commits: it must fail (the test shown able to fail).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';

import { sleep, makeWorkdir, startDaemon, startStack, templateRegex, waitFor } from './harness.mjs';
import { killDaemon, listReplies, listReports, query, repeatedSubmits, seededRandom } from './durability_util.mjs';

const k_cuts = 20;
const k_rate = 40; // new MO per second
const k_numbers = 100;
const k_in_flight = 24; // deliver_sm the simulator keeps outstanding, as an SMSC window
const k_retry_ms = 200; // how long the "SMSC" waits before delivering an unacknowledged MO again
const k_deliver_timeout_ms = 4000;
const k_window = 10; // [[smsc]] window: submit_sm a cut can leave without an answer

function msisdn(i) {
  return `6281577${String(i).padStart(6, '0')}`;
}

// process.env.LAPORSMSD names the binary startDaemon runs; `fn` runs with
// it set to `bin`.
async function withDaemonBinary(bin, fn) {
  const saved = process.env.LAPORSMSD;
  process.env.LAPORSMSD = bin;
  try {
    return await fn();
  } finally {
    process.env.LAPORSMSD = saved;
  }
}

// The texts of the reports in the database file as it is; a database whose
// schema never reached the disk holds none.
async function reportTextsOnDisk(dbPath) {
  try {
    return new Set((await query(dbPath, 'SELECT text FROM reports')).map((r) => r.text));
  } catch (error) {
    if (/no such table: reports/.test(error.message)) {
      return new Set();
    }
    throw error;
  }
}

// New MO at `rate` per second, each delivered until the daemon answers ESME_ROK.
class MoLoad {
  constructor(sim, { rate, inFlight }) {
    this.sim = sim;
    this.rate = rate;
    this.inFlight = inFlight;
    this.mos = [];
    this.queue = [];
    this.generating = false;
    this.stopped = false;
    this.deliveries = 0;
    this.failures = new Map(); // reason → count
    this.workers = [];
    this.generator = null;
  }

  #newMo() {
    const i = this.mos.length;
    const from = msisdn(i % k_numbers);
    const text = `uji listrik padam nomor ${i}: lampu jalan mati di gang ${String(i % 23).padStart(2, '0')} ` +
      `dekat rumah ${from.slice(-4)}`;
    const mo = { i, from, text, acked: false, life: -1, attempts: 0 };
    this.mos.push(mo);
    this.queue.push(mo);
  }

  #failed(mo, reason) {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
    setTimeout(() => this.queue.push(mo), k_retry_ms);
  }

  async #work() {
    while (!this.stopped) {
      const mo = this.queue.shift();
      if (!mo) {
        await sleep(10);
        continue;
      }
      if (this.sim.boundSessions().length === 0) {
        this.queue.unshift(mo);
        await sleep(30);
        continue;
      }
      mo.attempts++;
      this.deliveries++;
      try {
        const { status } = await this.sim.sendMo({
          from: mo.from, text: `LAPORYAI ${mo.text}`, timeoutMs: k_deliver_timeout_ms,
        });
        if (status === 0) {
          mo.acked = true;
          mo.life = this.life;
        } else {
          this.#failed(mo, `status 0x${status.toString(16)}`);
        }
      } catch (error) {
        this.#failed(mo, error.code === 'ETIMEDOUT' ? 'timeout' : 'session gone');
      }
    }
  }

  start() {
    this.generating = true;
    this.life = 0;
    const started = Date.now();
    this.generator = (async () => {
      while (this.generating) {
        const due = Math.floor(((Date.now() - started) * this.rate) / 1000);
        while (this.mos.length < due) {
          this.#newMo();
        }
        await sleep(20);
      }
    })();
    for (let w = 0; w < this.inFlight; w++) {
      this.workers.push(this.#work());
    }
  }

  async stopGenerating() {
    this.generating = false;
    await this.generator;
  }

  acked() {
    return this.mos.filter((mo) => mo.acked);
  }

  unacked() {
    return this.mos.filter((mo) => !mo.acked);
  }

  async stop() {
    this.generating = false;
    this.stopped = true;
    await Promise.all([this.generator, ...this.workers]);
  }
}

test('power cuts under MO load lose nothing acknowledged and duplicate nothing', { timeout: 120000 }, async (t) => {
  const powercutBin = process.env.LAPORSMSD_POWERCUT;
  assert.ok(powercutBin, 'LAPORSMSD_POWERCUT names laporsmsd_powercut (tests/CMakeLists.txt sets it)');
  const ordinaryBin = process.env.LAPORSMSD;
  const synchronous = process.env.LAPORSMS_POWERCUT_SYNCHRONOUS ?? 'full';
  const seed = Number(process.env.LAPORSMS_POWERCUT_SEED ?? (Date.now() % 1000000));
  const random = seededRandom(seed);
  t.diagnostic(`cut schedule seed ${seed}; store.synchronous = ${synchronous}`);
  const wd = await makeWorkdir('powercut_daemon');
  await wd.run(async () => {
    const stack = await withDaemonBinary(powercutBin, () => startStack(wd, {
      api: { adapter: 'rest-json' },
      config: {
        upstream: { adapter: 'rest-json' },
        smsc: { submit_rate: 1000, window: k_window },
        limits: { max_reports_per_sender: 1000000 },
        store: { synchronous },
      },
    }));
    const { sim, api, configPath, dbPath } = stack;
    let daemon = stack.daemon;
    const powercutLives = [daemon];
    const load = new MoLoad(sim, { rate: k_rate, inFlight: k_in_flight });
    wd.defer(() => load.stop());
    const began = Date.now();
    load.start();

    // Cut at random instants: a third soon after a start (recovery, bind,
    // the backlog the "SMSC" kept), the rest under the steady load.
    const cuts = [];
    let checkedAtCuts = 0;
    for (let k = 0; k < k_cuts; k++) {
      const lifetime = random() < 0.35 ? Math.floor(random() * 400) : 250 + Math.floor(random() * 900);
      const downtime = Math.floor(random() * 150);
      await sleep(lifetime);
      const bound = sim.boundSessions().length > 0;
      // Acknowledged before the power goes: these must be on the disk.
      const ackedBefore = load.acked();
      await killDaemon(daemon, sim);
      load.life = k + 1;
      // The wal-index is memory: a reboot loses it.
      await rm(`${dbPath}-shm`, { force: true });
      const onDisk = await reportTextsOnDisk(dbPath);
      const lost = ackedBefore.filter((mo) => !onDisk.has(mo.text));
      cuts.push({ afterMs: lifetime, bound, acked: ackedBefore.length, ackedThisLife: ackedBefore.filter((mo) => mo.life === k).length, lost: lost.length });
      assert.deepEqual(lost.map((mo) => `MO ${mo.i} (acknowledged in life ${mo.life})`), [],
        `cut ${k + 1}: every MO acknowledged before it is a report on the disk ` +
        `(${lost.length} of ${ackedBefore.length} lost)`);
      checkedAtCuts += ackedBefore.length;
      await sleep(downtime);
      daemon = await withDaemonBinary(powercutBin, () => startDaemon(configPath, { workdir: wd }));
      powercutLives.push(daemon);
    }
    // The last one is cut too; the survivor is the ordinary laporsmsd.
    await sleep(300 + Math.floor(random() * 500));
    const ackedBeforeLast = load.acked();
    await killDaemon(daemon, sim);
    await rm(`${dbPath}-shm`, { force: true });
    load.life = k_cuts + 1;
    cuts.push({ afterMs: 0, bound: true, acked: ackedBeforeLast.length, ackedThisLife: 0, lost: 0 });
    daemon = await withDaemonBinary(ordinaryBin, () => startDaemon(configPath, { workdir: wd }));
    await waitFor(() => sim.boundSessions().length > 0, {
      timeoutMs: 15000, daemon, what: 'the surviving laporsmsd to bind',
    });
    await sleep(1500);
    await load.stopGenerating();
    const loadMs = Date.now() - began;

    // Every life that acknowledged something ran on the power-cut VFS.
    for (const [k, life] of powercutLives.entries()) {
      if (load.mos.some((mo) => mo.acked && mo.life === k)) {
        assert.ok(life.lines.some((l) => /powercut: SQLite writes are held in memory/.test(l)),
          `life ${k} (pid ${life.pid}) ran laporsmsd_powercut`);
      }
    }
    const cutsUnderLoad = cuts.filter((c) => c.bound && c.ackedThisLife > 0).length;
    assert.equal(cuts.length, k_cuts + 1, 'every cut was made');
    assert.ok(cutsUnderLoad >= k_cuts * 0.4,
      `at least ${k_cuts * 0.4} cuts fell on a bound daemon that had acknowledged MO in that life (${cutsUnderLoad})`);

    await waitFor(() => load.unacked().length === 0, {
      timeoutMs: 20000, daemon, what: () => `every MO acknowledged (${load.unacked().length} left)`,
    });
    await load.stop();
    const total = load.mos.length;
    const ackedAtCuts = new Set(ackedBeforeLast.map((mo) => mo.i));
    assert.ok(ackedAtCuts.size >= k_rate * 5, `a real load was acknowledged before the last cut (${ackedAtCuts.size} MO)`);
    t.diagnostic(`${cuts.length} cuts (${cutsUnderLoad} on a bound daemon with MO acknowledged in that life) ` +
      `in ${loadMs} ms; ${total} MO, ${ackedAtCuts.size} acknowledged before the last cut, ` +
      `${checkedAtCuts} acknowledged-MO checks on the disk after cuts, 0 lost; ` +
      `${load.deliveries} deliver_sm; failures: ${JSON.stringify(Object.fromEntries(load.failures))}`);

    // Drain: every report forwarded, every reply out.
    let reports = [];
    await waitFor(async () => {
      reports = await listReports(configPath);
      const queued = await query(dbPath, "SELECT count(*) AS n FROM outbound WHERE state = 'queued'");
      return reports.length >= total && reports.every((r) => r.state === 'forwarded') && queued[0].n === 0;
    }, {
      timeoutMs: 30000, intervalMs: 300, daemon,
      what: () => `the queues to drain (${reports.length} reports, ` +
        `${reports.filter((r) => r.state !== 'forwarded').length} not forwarded)`,
    });
    await sleep(800); // room for a stray post or submit to show

    // Every acknowledged MO is exactly one report, with its text and sender.
    const byText = new Map();
    for (const report of reports) {
      byText.set(report.text, [...(byText.get(report.text) ?? []), report]);
    }
    assert.deepEqual(load.mos.filter((mo) => !byText.has(mo.text)).map((mo) => mo.i), [],
      'every acknowledged MO is a report');
    assert.deepEqual([...byText].filter(([, list]) => list.length > 1).map(([text, list]) => `${list.length}× ${text}`),
      [], 'no report is stored twice');
    assert.equal(reports.length, total, 'one report per MO');
    for (const mo of load.mos) {
      assert.equal(byText.get(mo.text)[0].msisdn, mo.from, `MO ${mo.i}'s report has its sender`);
    }
    const inbound = await query(dbPath, "SELECT count(*) AS n FROM inbound WHERE command = 'report'");
    assert.equal(inbound[0].n, total, 'one inbound SMS per report');

    // Upstream: each report once by idempotency key, with its text.
    const byRef = new Map(reports.map((r) => [r.ref, r]));
    const keys = new Set(api.posts.map((p) => p.idempotencyKey));
    assert.equal(keys.size, api.posts.length, 'the API double accepted each idempotency key once');
    assert.equal(keys.size, reports.length, 'distinct idempotency keys == reports');
    for (const post of api.posts) {
      const report = byRef.get(post.idempotencyKey);
      assert.ok(report, `post ${post.idempotencyKey} belongs to a stored report`);
      assert.equal(post.isi, report.text, `post ${post.idempotencyKey} carries its report's text`);
      assert.equal(report.tracking_id, post.trackingId, `${report.ref} keeps the tracking id the API gave`);
    }
    const conflicts = api.requests.filter((r) => r.status === 409).length;

    // Replies: none twice; each report queued one of each kind.
    const repeated = repeatedSubmits(sim);
    assert.deepEqual(repeated.slice(0, 10), [], 'no reply was sent twice to the same number');
    const kinds = await query(dbPath, "SELECT report_id, kind, count(*) AS n FROM outbound WHERE kind IN " +
      "('received', 'forwarded') GROUP BY report_id, kind");
    assert.deepEqual(kinds.filter((row) => row.n !== 1), [], 'one received and one forwarded reply per report');
    assert.equal(kinds.length, 2 * total, 'every report queued its received and forwarded replies');
    const receivedRe = templateRegex('received');
    const forwardedRe = templateRegex('forwarded');
    assert.deepEqual(sim.submits.filter((s) => !receivedRe.test(s.text) && !forwardedRe.test(s.text))
      .map((s) => s.text), [], 'only received and forwarded replies were sent');

    const replies = await listReplies(configPath);
    assert.equal(replies.length, 2 * total);
    const states = {};
    for (const reply of replies) {
      states[reply.state] = (states[reply.state] ?? 0) + 1;
    }
    assert.equal(states.queued ?? 0, 0, 'no reply is left queued');
    const seen = new Map();
    for (const s of sim.submits) {
      const key = `${s.destination}|${s.text}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    const notInDoubt = replies.filter((r) => r.state !== 'unknown');
    assert.deepEqual(notInDoubt.filter((r) => seen.get(`${r.msisdn}|${r.text}`) !== 1)
      .map((r) => `${r.state} reply to ${r.msisdn} seen ${seen.get(`${r.msisdn}|${r.text}`) ?? 0}×`).slice(0, 10), [],
      'every reply not in doubt reached the SMSC exactly once');
    // In doubt: a submit_sm that had left, or was about to, when the power
    // went. A cut leaves at most the window in flight.
    const unknown = replies.filter((r) => r.state === 'unknown');
    const unknownUnseen = unknown.filter((r) => !seen.has(`${r.msisdn}|${r.text}`));
    assert.ok(unknown.length <= cuts.length * k_window,
      `replies in doubt (${unknown.length}) are at most ${k_window} per cut on average (${cuts.length} cuts)`);
    // What SQLite said after a cut: a damaged database would show here.
    const daemonLines = wd.daemons.flatMap((d) => d.lines);
    assert.deepEqual(daemonLines.filter((l) => /malformed|corrupt|SQLITE_CORRUPT|not a database/i.test(l)), [],
      'no daemon found its database damaged');
    const problems = new Map();
    for (const line of daemonLines.filter((l) => / (warning|error) /.test(l))) {
      const shape = line.replace(/^\S+ /, '').replace(/MTR\w+|\d+/g, '#').slice(0, 160);
      problems.set(shape, (problems.get(shape) ?? 0) + 1);
    }
    t.diagnostic(`daemon warnings and errors: ${JSON.stringify(Object.fromEntries(problems))}`);
    t.diagnostic(`replies by state: ${JSON.stringify(states)}; in doubt ${unknown.length} ` +
      `(${unknownUnseen.length} never reached the SMSC); sent twice: ${repeated.length}; ` +
      `${api.posts.length} posts accepted, ${conflicts} answered 409; whole run ${Date.now() - began} ms`);
  });
});
