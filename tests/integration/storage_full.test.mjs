// Issue 5: a full disk. The database lives on a small tmpfs that the test
// fills up beside it: SMS are then answered with a temporary error (the SMSC
// keeps them), one error line is logged for the episode, nothing is lost, and
// once the space comes back the daemon takes the SMSC's redeliveries by
// itself, without a restart. Judged by the peers too (issue 11): the API gets
// each report once, each acknowledged MO gets its replies once, and an MO
// answered with a temporary error gets none until it is redelivered and stored.
//
// Mounting a tmpfs needs root (CI and the project's machines run as root);
// the test fails, saying so, where it cannot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { laporctl, linesMatching, makeWorkdir, sleep, startStack, waitFor } from './harness.mjs';
import { assertNoReplies, judgeByPeers, k_temporary_app_error } from './storage_fault_util.mjs';

const k_tmpfs_size = '12m';

function mountTmpfs(dir) {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${k_tmpfs_size},mode=0700`, 'tmpfs', dir],
      { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`cannot mount a ${k_tmpfs_size} tmpfs at ${dir} (this test needs root): ` +
      `${error.stderr?.toString().trim() || error.message}`);
  }
}

function unmount(dir) {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  } catch {
    // Already gone.
  }
}

function msisdn(i) {
  return `6281300${String(i).padStart(5, '0')}`;
}

function text(i) {
  return `LAPORYAI laporan nomor ${i}: saluran air tersumbat di gang ${i % 37}, ` +
    `air meluap ke jalan setiap hujan deras, mohon segera ditangani petugas. ${'x'.repeat(40)}`;
}

test('a full disk answers SMS with a temporary error, loses nothing, and recovers by itself',
  { timeout: 120000 }, async () => {
    const wd = await makeWorkdir('storage_full');
    const mnt = path.join(wd.path, 'small');
    await mkdir(mnt);
    mountTmpfs(mnt);
    wd.defer(() => unmount(mnt));
    await wd.run(async () => {
      // Most of the space goes to a filler the test removes later.
      const filler = path.join(mnt, 'filler');
      await writeFile(filler, Buffer.alloc(9 * 1024 * 1024, 0x61));
      const { sim, api, daemon, configPath } = await startStack(wd, {
        config: { store: { path: path.join(mnt, 'laporsms.db'), synchronous: 'normal' } },
      });

      // Send until the store refuses, keeping every MO the SMSC still owns.
      const pending = [];
      const accepted = new Set();
      let i = 0;
      for (; i < 3000 && pending.length < 20; i++) {
        const { status } = await sim.sendMo({ from: msisdn(i), text: text(i), timeoutMs: 10000 });
        if (status === 0) {
          accepted.add(i);
        } else {
          assert.equal(status, k_temporary_app_error, `MO ${i}: a temporary error, not ${status}`);
          pending.push(i);
        }
      }
      assert.ok(pending.length > 0, `the store never filled up after ${i} MO`);
      assert.ok(accepted.size > 0, 'some MO were stored before the disk filled');
      daemon.assertRunning();
      const errorLines = linesMatching(daemon, /store: cannot write/);
      assert.equal(errorLines.length, 1, `one error line for the episode, got ${errorLines.length}`);

      // Still refused while full: the SMSC retries, nothing is stored twice.
      const retry = await sim.sendMo({ from: msisdn(pending[0]), text: text(pending[0]), timeoutMs: 10000 });
      assert.equal(retry.status, k_temporary_app_error);

      // Nobody is told "received" for an MO the SMSC still owns.
      await sleep(500);
      assertNoReplies(sim, pending.map(msisdn), 'whose MO got a temporary error while the disk was full');
      daemon.assertRunning();

      // Space comes back; the SMSC's redeliveries now go through.
      await rm(filler);
      await sleep(200);
      for (const n of pending) {
        let status = -1;
        for (let attempt = 0; attempt < 20 && status !== 0; attempt++) {
          ({ status } = await sim.sendMo({ from: msisdn(n), text: text(n), timeoutMs: 10000 }));
          if (status !== 0) {
            await sleep(100);
          }
        }
        assert.equal(status, 0, `MO ${n} is stored once the disk has room`);
        accepted.add(n);
      }
      // Logged once writes have gone on succeeding for a while.
      await daemon.waitForLine(/store: writes succeed again/, { timeoutMs: 10000 });

      // Every acknowledged MO is one report; none twice.
      const reports = await waitFor(async () => {
        const { json } = await laporctl(configPath, ['--json', 'reports', '--limit', '100000']);
        return json && json.length >= accepted.size ? json : null;
      }, { timeoutMs: 20000, what: `${accepted.size} reports`, daemon });
      assert.equal(reports.length, accepted.size, 'one report per acknowledged MO');
      const texts = new Set(reports.map((r) => r.text));
      assert.equal(texts.size, reports.length, 'no report stored twice');
      for (const n of accepted) {
        assert.ok(texts.has(text(n).slice('LAPORYAI '.length)), `report ${n} is stored`);
      }

      // And by the peers: each report at the API once, each citizen told once.
      const stored = new Map([...accepted].map((n) => [msisdn(n), text(n).slice('LAPORYAI '.length)]));
      await judgeByPeers({ sim, api, daemon, stored });
      // A window of replies in flight when the disk filled is one episode
      // too: one error line for the outcomes waiting to be recorded, not one
      // per reply.
      const unrecorded = linesMatching(daemon, /^\S+ error .*cannot record the outcome/);
      assert.ok(unrecorded.length <= 1, `at most one error line for outcomes waiting on the store, ` +
        `got ${unrecorded.length}:\n${unrecorded.join('\n')}`);
      const exit = await daemon.stop({ timeoutMs: 20000 });
      assert.deepEqual(exit, { code: 0, signal: null });
    });
  });
