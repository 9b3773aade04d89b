// A second laporsmsd on the same configuration refuses to start at once,
// naming the running one, and leaves it alone: its control socket still
// answers, its SMPP link stays the only one bound, and reports go on flowing.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { laporctl, makeWorkdir, sleep, startDaemon, startStack } from './harness.mjs';

test('a second daemon on the same database refuses to start and leaves the first alone',
  { timeout: 60000 }, async () => {
    const wd = await makeWorkdir('second_instance');
    await wd.run(async () => {
      const { sim, api, daemon, configPath } = await startStack(wd);
      await sim.waitForBind();
      const before = await laporctl(configPath, ['--json', 'status']);
      assert.equal(before.json.daemon, 'running');

      const second = await startDaemon(configPath, { workdir: wd });
      const startedAt = Date.now();
      const exit = await second.exited;
      assert.ok(Date.now() - startedAt < 5000, 'the second daemon gives up at once');
      assert.notEqual(exit.code, 0, 'the second daemon exits with an error');
      const why = second.lines.join('\n');
      assert.match(why, new RegExp(`another laporsmsd \\(pid ${daemon.pid}\\) is running`),
        `the refusal names the running instance: ${why}`);

      daemon.assertRunning('the second start');
      const after = await laporctl(configPath, ['--json', 'status']);
      assert.equal(after.code, 0, 'the first daemon still answers on its control socket');
      assert.equal(after.json.daemon, 'running');
      const mo = await sim.sendMo({ from: '6281366600001', text: 'LAPORYAI sampah menumpuk di pasar baru' });
      assert.equal(mo.status, 0);
      await api.waitForPosts(1, { timeoutMs: 15000 });
      await sleep(300);
      assert.equal(api.posts.length, 1, 'the report is posted once');
      assert.equal(sim.bindAttempts.length, 1, 'only the first daemon ever bound');
      assert.deepEqual(await daemon.stop({ timeoutMs: 20000 }), { code: 0, signal: null });
    });
  });
