// Shared by the upstream_*.test.mjs files (issue 6): filing reports through
// the SMSC simulator, waiting for a citizen's replies by template, the
// upstream part of `laporctl status`, and what the daemon logged about a
// report. Built on harness.mjs; nothing here starts processes of its own.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

import { fillTemplate, laporctl, templateRegex, waitFor } from './harness.mjs';

// Upstream timings scaled down for tests: what is minutes in production is
// a second here.
export const k_fast_upstream = Object.freeze({
  retry_min: '100ms',
  retry_max: '1s',
  timeout: '2s',
});

// Sends `LAPORYAI <text>` from `msisdn` and checks the SMSC got ESME_ROK.
export async function fileReport(sim, msisdn, text) {
  const { status } = await sim.sendMo({ from: msisdn, text: `LAPORYAI ${text}` });
  assert.equal(status, 0, `deliver_sm_resp for the report from ${msisdn} is ESME_ROK`);
}

// The messages `msisdn` got whose whole text matches template `name`, each
// with the template's placeholders as `groups`.
export function repliesOf(sim, msisdn, name) {
  const re = templateRegex(name);
  return sim.messagesTo(msisdn).filter((m) => m.complete).flatMap((m) => {
    const match = re.exec(m.text);
    return match ? [{ ...m, groups: { ...match.groups } }] : [];
  });
}

// Waits until `msisdn` has at least `count` replies of template `name`;
// resolves them.
export async function waitForReplies(sim, msisdn, name, { count = 1, daemon = null, timeoutMs = 15000 } = {}) {
  return waitFor(() => {
    const found = repliesOf(sim, msisdn, name);
    return found.length >= count ? found : null;
  }, {
    timeoutMs, daemon,
    what: () => `${count} '${name}' repl${count === 1 ? 'y' : 'ies'} to ${msisdn} (texts so far: ` +
      `${JSON.stringify(sim.messagesTo(msisdn).map((m) => m.text))})`,
  });
}

// Files a report and waits for its `received` reply; resolves its local ref.
export async function fileReportAndGetRef(sim, msisdn, text, { daemon = null } = {}) {
  await fileReport(sim, msisdn, text);
  const [received] = await waitForReplies(sim, msisdn, 'received', { daemon });
  return received.groups.ref;
}

// `laporctl --json status`: {code, json, upstream}.
export async function ctlStatus(configPath) {
  const result = await laporctl(configPath, ['--json', 'status']);
  assert.ok(result.json && typeof result.json.upstream === 'object',
    `laporctl --json status has an upstream object: ${result.stdout.slice(0, 500)} ${result.stderr.slice(0, 500)}`);
  return { code: result.code, json: result.json, upstream: result.json.upstream };
}

// `laporctl --json report REF` (the JSON object).
export async function ctlReport(configPath, ref) {
  const result = await laporctl(configPath, ['--json', 'report', ref]);
  assert.equal(result.code, 0, `laporctl report ${ref} exits 0; stderr: ${result.stderr}`);
  return result.json;
}

// The daemon's stderr lines that name `ref`.
export function linesAbout(daemon, ref) {
  return daemon.lines.filter((line) => line.includes(ref));
}

// The whole stderr log of `daemon` as written to disk so far, for leak checks
// that must also see lines the line reader had not split yet.
export async function logText(daemon) {
  return readFile(daemon.logPath, 'utf8');
}

// Differences between consecutive numbers of `times`.
export function gaps(times) {
  return times.slice(1).map((t, i) => t - times[i]);
}

// The default `status_changed` text as the daemon sends it: with an empty
// note the template's trailing blank is dropped.
export function statusChangedText(trackingId, status, note = '') {
  return fillTemplate('status_changed', { tracking_id: trackingId, status, note }).replace(/ +$/, '');
}

// Polls `laporctl --json status` every `intervalMs` until `stop()` is
// called; resolves the list of {time, code, state, lastError} it saw.
export function watchUpstreamState(configPath, { intervalMs = 300 } = {}) {
  const seen = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      try {
        const { code, upstream } = await ctlStatus(configPath);
        seen.push({ time: Date.now(), code, state: upstream.state, lastError: upstream.last_error });
      } catch (error) {
        seen.push({ time: Date.now(), code: null, state: null, lastError: error.message });
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    return seen;
  })();
  return {
    seen,
    async stop() {
      stopped = true;
      return done;
    },
  };
}
