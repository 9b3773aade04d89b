// shutdown_grace is one deadline for the whole stop, not one per link: with
// three links whose SMSCs never answer the unbind, SIGTERM still ends the
// daemon (exit 0) within shutdown_grace and a margin, as systemd's single
// stop timeout needs.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { makeWorkdir, startLinks } from './harness.mjs';

test('three links that ignore the unbind stop within one shutdown_grace', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('shutdown_deadline');
  await wd.run(async () => {
    const { sims, daemon } = await startLinks(wd, {
      links: [{ name: 'telkomsel' }, { name: 'indosat' }, { name: 'xl' }],
      config: { daemon: { shutdown_grace: '2s', log_level: 'debug' } },
    });
    for (const sim of Object.values(sims)) {
      sim.silence();
    }
    const stoppedAt = Date.now();
    const exit = await daemon.stop({ timeoutMs: 15000 });
    const took = Date.now() - stoppedAt;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(took < 2000 + 1500, `stopped in ${took} ms (shutdown_grace 2 s; per link it would be 6 s)`);
    for (const [name, sim] of Object.entries(sims)) {
      assert.ok(sim.unbinds.length >= 1, `link ${name} was asked to unbind`);
    }
  });
});
