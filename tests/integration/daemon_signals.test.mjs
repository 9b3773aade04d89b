// The daemon as a program under signals. SIGHUP re-reads the reply
// templates (a broken file changes nothing and says why), also while reports
// are being forwarded: every task keeps the snapshot it was given, so a
// reload storm under load loses, doubles or garbles no reply (the tsan preset
// turns a data race here into a failure). SIGINT stops like SIGTERM: exit 0.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, readFile } from 'node:fs/promises';

import { fillTemplate, makeWorkdir, sleep, startStack, templateRegex, waitFor } from './harness.mjs';

const k_new_forwarded = 'Laporan {ref} diteruskan: #{tracking_id}. Terima kasih.';

function withForwarded(toml, template) {
  return `${toml}\n[replies]\nforwarded = ${JSON.stringify(template)}\n`;
}

test('SIGHUP applies new templates, refuses a broken file, and races nothing under load',
  { timeout: 120000 }, async () => {
    const wd = await makeWorkdir('daemon_signals');
    await wd.run(async () => {
      const { sim, api, daemon, configPath } = await startStack(wd);
      const original = await readFile(configPath, 'utf8');

      // A good reload: reports filed afterwards get the new forwarded text.
      await writeFile(configPath, withForwarded(original, k_new_forwarded), { mode: 0o600 });
      const reloadsBefore = daemon.lines.filter((l) => /reload: reply templates/.test(l)).length;
      daemon.child.kill('SIGHUP');
      await waitFor(() => daemon.lines.filter((l) => /reload: reply templates/.test(l)).length > reloadsBefore,
        { daemon, what: 'the reload log line' });
      const first = '6281377700001';
      assert.equal((await sim.sendMo({ from: first, text: 'LAPORYAI lampu merah mati di simpang lima' })).status, 0);
      await waitFor(() => sim.messagesTo(first).filter((m) => m.complete).length >= 2,
        { daemon, timeoutMs: 15000, what: 'two replies after the reload' });
      const [received, forwarded] = sim.messagesTo(first).map((m) => m.text);
      const ref = templateRegex('received').exec(received)?.groups.ref;
      assert.ok(ref, `the received reply: ${received}`);
      const trackingId = api.posts.find((p) => p.telpon === first).trackingId;
      assert.equal(forwarded, k_new_forwarded.replace('{ref}', ref).replace('{tracking_id}', trackingId),
        'the forwarded reply uses the reloaded template');

      // A broken file with two faults: each logged with its line and key
      // (as --check-config prints them), and the running templates stay.
      await writeFile(configPath, `${original}\n[replies]\nforwarded = "Laporan {nope}"\nreceived = 42\n`,
        { mode: 0o600 });
      const linesBeforeBroken = daemon.lines.length;
      daemon.child.kill('SIGHUP');
      const refusal = await daemon.waitForLine(/reload: .*keeping the running configuration/);
      assert.match(refusal, / faults=2 /, `the refusal counts the faults: ${refusal}`);
      const faults = daemon.lines.slice(linesBeforeBroken).filter((l) => /reload: .*:\d+: key '/.test(l));
      assert.equal(faults.length, 2, `one line per fault: ${faults.join(' | ')}`);
      assert.match(faults[0], /key 'replies\.forwarded'/);
      assert.match(faults[1], /key 'replies\.received'/);
      daemon.assertRunning('a broken reload');

      // A reload storm while 40 reports are forwarded; templates alternate.
      const citizens = Array.from({ length: 40 }, (_, i) => `62813777010${String(i).padStart(2, '0')}`);
      const sends = citizens.map((from, i) => sim.sendMo({ from, text: `LAPORYAI got ${i} tersumbat di RW 0${i % 9}` }));
      for (let i = 0; i < 20; i++) {
        await writeFile(configPath, i % 2 === 0 ? original : withForwarded(original, k_new_forwarded), { mode: 0o600 });
        daemon.child.kill('SIGHUP');
        await sleep(25);
      }
      assert.deepEqual((await Promise.all(sends)).map((r) => r.status), new Array(citizens.length).fill(0));
      await waitFor(() => citizens.every((c) => sim.messagesTo(c).filter((m) => m.complete).length >= 2),
        { daemon, timeoutMs: 30000, what: 'two replies to each citizen during the reload storm' });
      await sleep(300);
      for (const from of citizens) {
        const texts = sim.messagesTo(from).map((m) => m.text);
        assert.equal(texts.length, 2, `${from} got exactly two replies`);
        const refOf = templateRegex('received').exec(texts[0])?.groups.ref;
        const tracking = api.posts.find((p) => p.telpon === from).trackingId;
        const either = [fillTemplate('forwarded', { ref: refOf, tracking_id: tracking }),
          k_new_forwarded.replace('{ref}', refOf).replace('{tracking_id}', tracking)];
        assert.ok(either.includes(texts[1]), `${from}'s forwarded reply is one whole template: ${texts[1]}`);
      }
      assert.equal(api.posts.length, citizens.length + 1, 'each report posted once');

      daemon.child.kill('SIGINT');
      // Wait for SIGINT alone to end it (stop() would add a SIGTERM).
      await waitFor(() => !daemon.running, { timeoutMs: 20000, what: 'the daemon to exit on SIGINT' });
      const exit = await daemon.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, 'SIGINT stops the daemon cleanly');
      assert.ok(daemon.lines.some((l) => /stopping; .* signal=2 /.test(l)), 'the stop names SIGINT');
    });
  });
