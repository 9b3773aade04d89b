// The SMSC refuses our bind (ESME_RINVPASWD): laporsmsd stays up, retries
// with exponential backoff between reconnect_min (100ms) and reconnect_max
// (1s), shows the refusal in `laporctl status` without the password, and
// binds and carries traffic as soon as the carrier accepts the account.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Status } from '../peers/smsc-sim.mjs';
import { fillTemplate, laporctl, makeWorkdir, startStack, templateRegex, waitFor } from './harness.mjs';

const k_password = 'Pw7q9Zx!'; // what laporsmsd sends (SMPP allows 8 octets); distinctive, to find in output
const k_reconnect_min_ms = 100;
const k_reconnect_max_ms = 1000;
const k_attempts = 12;
// Connect + bind round trip on loopback, timer and scheduling latency.
const k_slack_ms = 600; // under the doubling a missing cap would give (2 s), above a loaded machine's delay

function mean(values) {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

test('a refused bind is retried with growing gaps, reported without the password, then succeeds',
  { timeout: 60000 }, async () => {
    const wd = await makeWorkdir('smpp_bind_backoff');
    await wd.run(async () => {
      const { sim, api, daemon, configPath } = await startStack(wd, {
        smsc: { password: 'carrier1' },
        config: { password: k_password },
        waitForBind: false,
      });

      await waitFor(() => sim.bindAttempts.length >= k_attempts, {
        timeoutMs: 20000, daemon, what: () => `${k_attempts} bind attempts (${sim.bindAttempts.length} so far)`,
      });
      daemon.assertRunning('the refused binds');
      const attempts = sim.bindAttempts.slice(0, k_attempts);
      for (const a of attempts) {
        assert.equal(a.command, 'bind_transceiver', 'bind = "transceiver" sends bind_transceiver');
        assert.equal(a.systemId, 'laporsms');
        assert.equal(a.status, Status.ESME_RINVPASWD, 'every attempt met ESME_RINVPASWD');
      }

      // Gaps between attempts: never below reconnect_min, never above
      // reconnect_max (+ slack), and growing. The daemon may jitter each gap
      // anywhere in [reconnect_min, current cap], so growth is judged on
      // averages: the first two gaps (cap 100ms, 200ms) against the gaps
      // once the cap has reached reconnect_max (from the 5th gap on).
      const gaps = attempts.slice(1).map((a, i) => a.time - attempts[i].time);
      const shown = gaps.join(', ');
      for (const gap of gaps) {
        assert.ok(gap >= k_reconnect_min_ms - 15, `no gap below reconnect_min: ${shown}`);
        assert.ok(gap <= k_reconnect_max_ms + k_slack_ms, `no gap above reconnect_max + ${k_slack_ms} ms: ${shown}`);
      }
      const early = mean(gaps.slice(0, 2));
      const late = mean(gaps.slice(4));
      assert.ok(late >= 1.5 * early, `the gaps grow: early mean ${early} ms, late mean ${late} ms (${shown})`);
      assert.ok(Math.max(...gaps.slice(4)) > 2 * k_reconnect_min_ms,
        `later gaps reach beyond twice reconnect_min: ${shown}`);

      // One connection at a time: each refused bind's connection is closed by the daemon.
      const open = sim.sessionHistory.filter((h) => h.closedAt === null);
      assert.ok(open.length <= 1, `at most one connection open at a time (${open.length} open)`);
      const refusedSessions = new Set(attempts.map((a) => a.sessionIndex));
      const closedByDaemon = sim.sessionHistory.filter((h) => refusedSessions.has(h.sessionIndex) &&
        h.closedAt !== null && h.closedBy === 'peer');
      assert.ok(closedByDaemon.length >= refusedSessions.size - 1,
        `the daemon closes the connection of a refused bind (${closedByDaemon.length} of ${refusedSessions.size})`);

      // The operator sees why, but never the password.
      const status = await laporctl(configPath, ['--json', 'status']);
      assert.equal(status.json.daemon, 'running');
      assert.equal(status.json.links.length, 1);
      const link = status.json.links[0];
      assert.notEqual(link.state, 'bound', `link state while refused: ${link.state}`);
      assert.equal(typeof link.last_error, 'string', `last_error is set: ${JSON.stringify(link)}`);
      assert.match(link.last_error, /ESME_RINVPASWD|invalid password/i, 'last_error names the bind refusal');
      assert.ok(link.last_error.includes('laporsms'), `last_error names the system_id: ${link.last_error}`);
      assert.equal(status.code, 1, `laporctl status exits 1 (degraded) while the link is down; ${status.stdout}`);
      assert.ok(!status.stdout.includes(k_password) && !status.stderr.includes(k_password),
        'laporctl status never shows the password');
      const plain = await laporctl(configPath, ['status']);
      assert.ok(!plain.stdout.includes(k_password), 'laporctl status (text) never shows the password');
      assert.ok(daemon.lines.some((l) => /RINVPASWD|invalid password/i.test(l) && l.includes('laporsms')),
        'the daemon logs the refusal with the system_id');
      assert.ok(!daemon.lines.some((l) => l.includes(k_password)), 'the daemon never logs the password');

      // The carrier fixes the account: the next attempt binds.
      const fixedAt = Date.now();
      sim.setCredentials({ password: k_password });
      const bind = await sim.waitForBind({ timeoutMs: 10000 });
      assert.ok(bind.time - fixedAt <= k_reconnect_max_ms + k_slack_ms,
        `bound ${bind.time - fixedAt} ms after the account was fixed (reconnect_max ${k_reconnect_max_ms} ms)`);
      await waitFor(async () => {
        const s = await laporctl(configPath, ['--json', 'status']);
        return s.json.links[0].state === 'bound' ? s : null;
      }, { timeoutMs: 5000, daemon, what: 'laporctl status to show the link bound' }).then((s) => {
        assert.equal(s.json.links[0].last_error, null, 'last_error clears once bound');
      });

      // Traffic flows.
      const citizen = '6281377700001';
      const mo = await sim.sendMo({ from: citizen, text: 'LAPORYAI trotoar rusak di depan pasar baru' });
      assert.equal(mo.status, 0);
      await api.waitForPosts(1, { timeoutMs: 15000 });
      await waitFor(() => sim.messagesTo(citizen).length >= 2, {
        timeoutMs: 15000, daemon, what: () => `2 replies to the citizen (${sim.submits.length} submits)`,
      });
      const messages = sim.messagesTo(citizen);
      const match = templateRegex('received').exec(messages[0].text);
      assert.ok(match, `first reply is 'received': ${messages[0].text}`);
      assert.equal(messages[1].text,
        fillTemplate('forwarded', { ref: match.groups.ref, tracking_id: api.posts[0].trackingId }));
      assert.ok(!daemon.lines.some((l) => l.includes(k_password)), 'the daemon never logs the password');

      const exit = await daemon.stop({ timeoutMs: 20000 });
      assert.deepEqual(exit, { code: 0, signal: null });
    });
  });
