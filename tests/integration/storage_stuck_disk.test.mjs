// Issue 14: the watchdog is fed only while the store's writer completes
// work. A disk that stops answering leaves the writer stuck in a write or an
// fsync while the io thread runs on: if the io thread alone kept sending
// WATCHDOG=1, systemd would never restart a daemon that can store nothing.
//
// The database lives on an ext4 file system on a loop device; `fsfreeze -f`
// makes every write to it block (the writer thread sleeps in the kernel, as
// on a disk that stopped answering), `fsfreeze -u` lets them through again.
// A fake NOTIFY_SOCKET with WATCHDOG_USEC = 1 s counts the kicks.
//
// Needs root (mount, fsfreeze); the test fails, saying so, where it cannot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import { makeWorkdir, sleep, startStack, waitFor } from './harness.mjs';
import { k_no_systemd, startNotifyListener } from './notify_listener.mjs';
import { quietly, runAsRoot } from './storage_fault_util.mjs';

const k_watchdog_usec = 1000000; // the daemon kicks every 500 ms
const k_frozen_ms = 3000;

test('a disk that stops answering stops the WATCHDOG=1 kicks; they and the MO go through once it answers',
  { timeout: 90000 }, async () => {
    const wd = await makeWorkdir('storage_stuck_disk');
    const disk = path.join(wd.path, 'disk');
    const image = path.join(wd.path, 'disk.img');
    await mkdir(disk);
    runAsRoot('truncate', ['-s', '64M', image]);
    runAsRoot('mkfs.ext4', ['-q', '-F', image]);
    runAsRoot('mount', ['-o', 'loop', image, disk]);
    wd.defer(() => quietly('umount', ['-l', disk]));

    await wd.run(async () => {
      const notify = await startNotifyListener(wd);
      const { sim, daemon } = await startStack(wd, {
        config: { store: { path: path.join(disk, 'laporsms.db') } },
        env: { ...k_no_systemd, NOTIFY_SOCKET: notify.socketPath, WATCHDOG_USEC: String(k_watchdog_usec) },
      });
      const first = await sim.sendMo({ from: '6281511100001', text: 'LAPORYAI jalan berlubang di depan pasar' });
      assert.equal(first.status, 0, 'an MO before the disk stops answering is acknowledged');
      await waitFor(() => notify.with('WATCHDOG=1').length >= 3, {
        daemon, timeoutMs: 10000, what: () => `three WATCHDOG=1 kicks (${notify.with('WATCHDOG=1').length} so far)`,
      });

      runAsRoot('fsfreeze', ['-f', disk]);
      let pending;
      let frozenAt;
      try {
        frozenAt = Date.now();
        // The writer blocks storing this one; its deliver_sm_resp must wait.
        pending = sim.sendMo({
          from: '6281511100002', text: 'LAPORYAI sampah menumpuk di selokan', timeoutMs: k_frozen_ms + 30000,
        });
        await sleep(k_frozen_ms);
        // A kick already on its way when the disk froze may still arrive
        // within one interval; none after that.
        const late = notify.with('WATCHDOG=1').filter((m) => m.time > frozenAt + k_watchdog_usec / 1000);
        assert.equal(late.length, 0,
          `${late.length} WATCHDOG=1 kick(s) while the store's writer could not write: systemd would never ` +
          'restart a daemon that stores nothing');
        assert.equal(daemon.exitInfo, null, 'the daemon is still running (systemd, not the daemon, decides)');
      } finally {
        runAsRoot('fsfreeze', ['-u', disk]);
      }
      const thawedAt = Date.now();
      const second = await pending;
      assert.equal(second.status, 0, 'the MO sent while the disk was frozen is acknowledged once it answers');
      await waitFor(() => notify.with('WATCHDOG=1').some((m) => m.time > thawedAt), {
        daemon, timeoutMs: 5000, what: () => 'WATCHDOG=1 again once the disk answers',
      });
      const exit = await daemon.stop({ timeoutMs: 15000 });
      assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM: exit 0');
    });
  });
