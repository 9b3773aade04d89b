// Issue 11: a locked database. Another writer (an operator's sqlite3) holds
// the database's write lock for a few seconds while citizens' SMS arrive.
// Judged by the peers: every deliver_sm is answered within bounds, with a
// temporary error while the lock is held (never ESME_ROK for an MO that was
// not stored), nobody is told "received" for an MO the SMSC still owns, and
// once the lock goes the SMSC's redeliveries are stored, each report reaches
// the API once and each citizen gets each reply once. The daemon stays up and
// logs the episode once, not once per SMS.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import readline from 'node:readline';

import { laporctl, linesMatching, makeWorkdir, sleep, startStack } from './harness.mjs';
import {
  assertNoReplies, complaintsSince, judgeByPeers, k_temporary_app_error, redeliverUntilStored,
  repeatedMessages,
} from './storage_fault_util.mjs';

// Longer than the outbox's idle wait (5 s): it meets the lock at least once.
const k_lock_ms = 8000;
// An SMSC waits some seconds for a deliver_sm_resp before it gives up on the
// PDU; the daemon must answer well within that, lock or no lock.
const k_answer_bound_ms = 2000;

function msisdn(i) {
  return `6281400${String(i).padStart(5, '0')}`;
}

function reportText(i) {
  return `jalan berlubang di depan pasar nomor ${i}, motor sering jatuh di sana`;
}

function mo(i) {
  return { from: msisdn(i), text: `LAPORYAI ${reportText(i)}` };
}

// A sqlite3 process holding the database's write lock (BEGIN IMMEDIATE)
// until release() is called. Resolves once it holds the lock.
async function holdWriteLock(dbPath, workdir) {
  const child = spawn('sqlite3', ['-bail', dbPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  workdir.defer(() => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
  });
  const lines = readline.createInterface({ input: child.stdout });
  const locked = new Promise((resolve, reject) => {
    lines.on('line', (line) => {
      if (line === 'locked') {
        resolve();
      }
    });
    exited.then(({ code }) => reject(new Error(`sqlite3 exited (${code}) before taking the lock: ${stderr}`)));
  });
  // A generous busy timeout: the daemon may be mid-commit when we ask.
  child.stdin.write('PRAGMA busy_timeout = 5000;\nBEGIN IMMEDIATE;\n' +
    ".print locked\n");
  let timer;
  await Promise.race([locked, new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`sqlite3 did not take the lock within 10 s: ${stderr}`)), 10000);
  })]);
  clearTimeout(timer);
  return {
    async release() {
      child.stdin.end('ROLLBACK;\n.quit\n');
      const exit = await exited;
      assert.deepEqual(exit, { code: 0, signal: null }, `the lock holder ends cleanly (stderr: ${stderr})`);
    },
  };
}

// What the scenario saw, for the todo tests after it.
let g_episode = null;

test('a database locked by another writer: temporary errors in bounds, nothing lost, one log line',
  { timeout: 120000 }, async () => {
    const wd = await makeWorkdir('storage_locked');
    await wd.run(async () => {
      const { sim, api, daemon, configPath, dbPath } = await startStack(wd);
      const stored = new Map();

      // Before the lock: stored and acknowledged as usual.
      for (let i = 0; i < 5; i++) {
        const { status } = await sim.sendMo({ ...mo(i), timeoutMs: 10000 });
        assert.equal(status, 0, `MO ${i} before the lock`);
        stored.set(msisdn(i), reportText(i));
      }
      // Their replies and upstream posts are still under way when the lock
      // comes: the outbox and the forwarder meet it too.
      const linesBefore = daemon.lines.length;
      const lock = await holdWriteLock(dbPath, wd);
      const lockedAt = Date.now();

      // Traffic while the lock is held: an MO every 100 ms, each its own
      // deliver_sm, not waiting for the previous answer (as an SMSC's window).
      const during = [];
      let i = 5;
      while (Date.now() - lockedAt < k_lock_ms - k_answer_bound_ms) {
        const n = i++;
        const sentAt = Date.now();
        during.push(sim.sendMo({ ...mo(n), timeoutMs: 10000 }).then(({ status }) => ({
          n, status, sentAt, answeredAt: Date.now(),
        })));
        await sleep(100);
      }
      const answers = await Promise.all(during);
      const stillLocked = Date.now();
      daemon.assertRunning('the lock');
      assert.ok(stillLocked - lockedAt < k_lock_ms, 'every answer came while the lock was still held');
      const slowest = Math.max(...answers.map((a) => a.answeredAt - a.sentAt));
      assert.ok(slowest <= k_answer_bound_ms, `each deliver_sm answered within ${k_answer_bound_ms} ms ` +
        `(slowest ${slowest} ms)`);
      for (const a of answers) {
        assert.equal(a.status, k_temporary_app_error,
          `MO ${a.n}, answered while another writer held the lock: a temporary error, not ${a.status}`);
      }
      assert.ok(answers.length >= 10, `${answers.length} MO sent during the lock`);

      // Nobody is told anything for an MO the SMSC still owns; the store
      // holds none of them (read while the lock is held: WAL lets us).
      assertNoReplies(sim, answers.map((a) => msisdn(a.n)), 'whose MO was refused during the lock');
      const { json: reportsDuring } = await laporctl(configPath, ['--json', 'reports', '--limit', '1000']);
      assert.equal(reportsDuring.length, stored.size, 'no MO refused during the lock was stored');

      await sleep(Math.max(0, lockedAt + k_lock_ms - Date.now()));
      await lock.release();
      const releasedAt = Date.now();

      // The SMSC redelivers; now each is stored, once.
      for (const a of answers) {
        await redeliverUntilStored(sim, mo(a.n));
        stored.set(msisdn(a.n), reportText(a.n));
      }
      const firstOk = Date.now() - releasedAt;
      daemon.assertRunning('the redeliveries');

      const { outOfOrder } = await judgeByPeers({ sim, api, daemon, stored });
      const { json: reports } = await laporctl(configPath, ['--json', 'reports', '--limit', '1000']);
      assert.equal(reports.length, stored.size, 'one report per acknowledged MO');
      assert.equal(new Set(reports.map((r) => r.text)).size, reports.length, 'no report stored twice');

      // One line for the episode from the intake, and its end.
      const episode = daemon.lines.slice(linesBefore);
      assert.equal(episode.filter((l) => /store: cannot write/.test(l)).length, 1,
        `one "store: cannot write" line for the episode:\n${episode.join('\n')}`);
      await daemon.waitForLine(/store: writes succeed again/, { timeoutMs: 10000 });
      assert.equal(linesMatching(daemon, /store: writes succeed again/).length, 1, 'the recovery is logged once');
      const complaints = complaintsSince(daemon, linesBefore);
      // A window of replies in flight when the store failed is one episode
      // too: one error line for the outcomes waiting to be recorded, not one
      // per reply.
      const unrecorded = linesMatching(daemon, /^\S+ error .*cannot record the outcome/);
      assert.ok(unrecorded.length <= 1, `at most one error line for outcomes waiting on the store, ` +
        `got ${unrecorded.length}:\n${unrecorded.join('\n')}`);
      g_episode = { outOfOrder, repeated: repeatedMessages(complaintsSince(daemon, linesBefore)) };
      const exit = await daemon.stop({ timeoutMs: 20000 });
      assert.deepEqual(exit, { code: 0, signal: null });
      process.stderr.write(`# locked ${k_lock_ms} ms: ${answers.length} MO refused, slowest answer ${slowest} ms, ` +
        `all redelivered and stored ${firstOk} ms after the release, ${complaints.length} error lines\n`);
    });
  });

// Found by this test (issue 11), not fixed here: see the todo reasons. Each
// runs on what the test above recorded; drop the todo once it passes.
test('a locked database: each citizen hears "received" before "forwarded"',
  { todo: 'a reply whose "about to send" mark fails waits 1 s to be requeued while the outbox ' +
    'claims the same citizen\'s next reply: claims are not ordered per citizen' }, () => {
    assert.ok(g_episode, 'the scenario above ran');
    assert.deepEqual(g_episode.outOfOrder, [], 'citizens who heard "forwarded" first');
  });

test('a locked database: each message is logged once per episode, not once per poll', () => {
    assert.ok(g_episode, 'the scenario above ran');
    assert.deepEqual(g_episode.repeated, [], 'messages logged more than once in the episode');
  });
