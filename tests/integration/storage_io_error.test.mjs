// Issue 11: an I/O error under the database. The database lives on an ext2
// file system (no journal, errors=continue) on a loop device whose backing
// file is sparse on a small tmpfs. Filling that tmpfs makes every write of a
// block the device has not written before fail in the block layer ("Buffer
// I/O error on dev loopN"): SQLite's fsync of the WAL then fails with
// SQLITE_IOERR_FSYNC, a real disk I/O error, not a full file system (ext2
// itself has plenty of room). Emptying the tmpfs clears the fault.
//
// README ("How it fails and recovers") promises for an I/O error: deliver_sm
// answered ESME_RX_T_APPN, one error line per episode, service resumes by
// itself. Judged by the peers: no MO is acknowledged while the disk fails,
// nobody is told "received" for one, and after the fault the SMSC's
// redeliveries are stored, each report reaches the API once and each citizen
// gets each reply once. Then the daemon is stopped, the file system unmounted
// and mounted again (nothing left in the page cache), and every acknowledged
// report must be on the disk itself.
//
// Needs root (mount, losetup); the test fails, saying so, where it cannot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import { laporctl, linesMatching, makeWorkdir, sleep, sqlite, startStack, waitFor } from './harness.mjs';
import {
  assertNoReplies, complaintsSince, judgeByPeers, k_temporary_app_error, quietly, redeliverUntilStored,
  repeatedMessages, runAsRoot as run,
} from './storage_fault_util.mjs';

function msisdn(i) {
  return `6281500${String(i).padStart(5, '0')}`;
}

function reportText(i) {
  return `lampu jalan mati sepanjang jalan nomor ${i} sejak seminggu, rawan kejahatan malam hari`;
}

function mo(i) {
  return { from: msisdn(i), text: `LAPORYAI ${reportText(i)}` };
}

function availableBytes(dir) {
  return Number(run('df', ['-B1', '--output=avail', dir]).split('\n').pop().trim());
}

// What the scenario saw, for the todo tests after it.
let g_episode = null;

// The scenario. `crash`: the daemon is killed (SIGKILL) once it has
// recovered and stored the redeliveries, instead of stopped; the file
// system is then mounted again and what SQLite recovers from the disk must
// hold every acknowledged report. Without `crash`, a clean stop.
async function ioErrorEpisode({ crash }) {
    const wd = await makeWorkdir('storage_io');
    const backing = path.join(wd.path, 'backing');
    const disk = path.join(wd.path, 'disk');
    await mkdir(backing);
    await mkdir(disk);
    run('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0700', 'tmpfs', backing]);
    wd.defer(() => quietly('umount', ['-l', backing]));
    const image = path.join(backing, 'disk.img');
    run('truncate', ['-s', '64M', image]);
    const device = run('losetup', ['--find', '--show', image]);
    wd.defer(() => quietly('losetup', ['-d', device]));
    run('mkfs.ext2', ['-q', '-F', device]);
    const mountDisk = () => run('mount', ['-o', 'errors=continue', device, disk]);
    mountDisk();
    wd.defer(() => quietly('umount', ['-l', disk]));
    const dbPath = path.join(disk, 'laporsms.db');

    await wd.run(async () => {
      const { sim, api, daemon, configPath } = await startStack(wd, {
        config: { store: { path: dbPath } }, // synchronous = full, the default
      });
      const stored = new Map();
      // The SMSC answers submit_sm slowly until the fault has begun: the
      // replies' outcomes (bookkeeping, committed without an fsync of its
      // own) are then written while the disk fails.
      let slowSubmits = true;
      sim.submitResponder = () => (slowSubmits ? sleep(1500).then(() => 0) : 0);
      for (let i = 0; i < 5; i++) {
        const { status } = await sim.sendMo({ ...mo(i), timeoutMs: 10000 });
        assert.equal(status, 0, `MO ${i} before the fault`);
        stored.set(msisdn(i), reportText(i));
      }
      if (!crash) {
        run('sync', []);
      }
      // (With `crash`, bookkeeping committed without an fsync of its own -- the
      // replies' submit_sm_resp -- may still be only in the page cache when
      // the fault comes.)

      // The fault: the device can no longer write a block it has not written before.
      const linesBefore = daemon.lines.length;
      const faultAt = Date.now();
      // (Write-back keeps taking space meanwhile: fill until nothing is left.)
      const fillers = [];
      for (let k = 0; k < 20 && availableBytes(backing) > 0; k++) {
        const filler = path.join(backing, `filler${k}`);
        try {
          execFileSync('fallocate', ['-l', String(availableBytes(backing)), filler], { stdio: 'pipe' });
        } catch {
          // Taken meanwhile; try the rest again.
        }
        fillers.push(filler);
      }
      assert.equal(availableBytes(backing), 0, 'the backing tmpfs is full');

      // A write that lands on blocks the device already has still succeeds
      // (and is truly on the disk: the remount below shows it), so send
      // until the store refuses, keeping every MO the SMSC still owns.
      const refused = [];
      let i = 5;
      for (; i < 500 && refused.length < 20; i++) {
        const { status } = await sim.sendMo({ ...mo(i), timeoutMs: 10000 });
        if (status === 0) {
          assert.equal(refused.length, 0, `MO ${i} acknowledged after an earlier one was refused`);
          stored.set(msisdn(i), reportText(i));
        } else {
          assert.equal(status, k_temporary_app_error,
            `MO ${i}, sent while the disk fails: a temporary error, not 0x${status.toString(16)}`);
          refused.push(i);
        }
      }
      assert.equal(refused.length, 20, `the store never failed after ${i} MO`);
      slowSubmits = false;
      daemon.assertRunning('the I/O errors');
      const errorLine = linesMatching(daemon, /store: cannot write/);
      assert.equal(errorLine.length, 1, 'one "store: cannot write" line for the episode');
      assert.match(errorLine[0], /I\/O error/, `the line names the I/O error: ${errorLine[0]}`);
      // The fault lasts longer than the outbox's idle wait (5 s): every part
      // of the daemon meets it.
      await sleep(Math.max(1500, faultAt + 6000 - Date.now()));
      assertNoReplies(sim, refused.map(msisdn), 'whose MO got a temporary error during the I/O errors');
      const { json: during } = await laporctl(configPath, ['--json', 'reports', '--limit', '1000']);
      assert.equal(during.length, stored.size, 'no refused MO is visible as a report');
      daemon.assertRunning('the I/O errors');

      // The fault clears; the SMSC redelivers.
      await Promise.all(fillers.map((f) => rm(f, { force: true })));
      const clearedAt = Date.now();
      for (const n of refused) {
        await redeliverUntilStored(sim, mo(n), { attempts: 50 });
        stored.set(msisdn(n), reportText(n));
      }
      const recoveredMs = Date.now() - clearedAt;
      // Each episode is one error line and one recovery line, in turn, ending
      // recovered. A write-back that failed during the fault may surface only
      // at the next fsync after it cleared (the kernel reports it once): a
      // second, short episode, answered with temporary errors like the first
      // (seen once in CI). What was acknowledged is judged below either way.
      // The recovery is logged once writes have gone on succeeding a while.
      await waitFor(() => linesMatching(daemon, /store: (cannot write|writes succeed again)/).at(-1)
        ?.includes('writes succeed again'), { what: 'the recovery line', daemon });
      const episodes = linesMatching(daemon, /store: (cannot write|writes succeed again)/)
        .map((line) => (/cannot write/.test(line) ? 'error' : 'recovered'));
      assert.ok(episodes.length >= 2 && episodes.length <= 4 &&
        episodes.every((kind, k) => kind === (k % 2 === 0 ? 'error' : 'recovered')),
        `one or two episodes, each an error then its recovery: ${episodes.join(', ')}`);
      const corrupt = linesMatching(daemon, /malformed/);
      if (corrupt.length > 0) {
        process.stderr.write(`# I/O errors: ${corrupt.length} "malformed" lines after the fault ` +
          `(${episodes.length / 2} episodes); first: ${corrupt[0]}\n`);
      }

      const { outOfOrder } = await judgeByPeers({ sim, api, daemon, stored });
      const complaints = complaintsSince(daemon, linesBefore);
      // A window of replies in flight when the store failed is one episode
      // too: one error line for the outcomes waiting to be recorded, not one
      // per reply.
      const unrecorded = linesMatching(daemon, /^\S+ error .*cannot record the outcome/);
      assert.ok(unrecorded.length <= 1, `at most one error line for outcomes waiting on the store, ` +
        `got ${unrecorded.length}:\n${unrecorded.join('\n')}`);
      // The writer's idle sync of the WAL fails every second the disk does:
      // one warning for the episode, not one a second.
      const unsynced = linesMatching(daemon, /^\S+ warning store: cannot sync the WAL/);
      assert.ok(unsynced.length <= 1, `at most one "cannot sync the WAL" line for the episode, ` +
        `got ${unsynced.length}`);
      if (!crash) {
        g_episode = { outOfOrder, repeated: repeatedMessages(complaintsSince(daemon, linesBefore)) };
      }
      if (crash) {
        const exit = await daemon.kill();
        assert.deepEqual(exit, { code: null, signal: 'SIGKILL' });
      } else {
        const exit = await daemon.stop({ timeoutMs: 20000 });
        assert.deepEqual(exit, { code: 0, signal: null });
      }

      // What is on the disk itself, not in the page cache.
      run('umount', [disk]);
      mountDisk();
      const onDisk = new Set((await sqlite(dbPath, 'SELECT text FROM reports')).map((r) => r.text));
      const lost = [...stored].filter(([, text]) => !onDisk.has(text)).map(([number]) => number);
      assert.deepEqual(lost, [], `every acknowledged report is on the disk after a remount ` +
        `(${lost.length} of ${stored.size} lost)`);
      assert.equal(onDisk.size, stored.size, 'and nothing else');
      const [{ integrity_check: integrity }] = await sqlite(dbPath, 'PRAGMA integrity_check');
      assert.equal(integrity, 'ok');
      process.stderr.write(`# I/O errors: ${refused.length} MO refused; all redelivered and stored ` +
        `${recoveredMs} ms after the fault cleared; ${complaints.length} error/warning lines\n`);
    });
}

test('an I/O error under the database: temporary errors, nothing acknowledged unstored, recovers by itself',
  { timeout: 120000 }, () => ioErrorEpisode({ crash: false }));

test('an I/O error, then a crash after recovery: every acknowledged report is on the disk',
  { timeout: 120000 }, () => ioErrorEpisode({ crash: true }));

// Found by this test (issue 11), not fixed here: see the todo reasons. Each
// runs on what the test above recorded; drop the todo once it passes.
test('an I/O error: each citizen hears "received" before "forwarded"',
  { todo: 'a reply whose "about to send" mark fails waits 1 s to be requeued while the outbox ' +
    'claims the same citizen\'s next reply: claims are not ordered per citizen' }, () => {
    assert.ok(g_episode, 'the scenario above ran');
    assert.deepEqual(g_episode.outOfOrder, [], 'citizens who heard "forwarded" first');
  });

test('an I/O error: each message is logged once per episode, not once per poll', () => {
    assert.ok(g_episode, 'the scenario above ran');
    assert.deepEqual(g_episode.repeated, [], 'messages logged more than once in the episode');
  });
