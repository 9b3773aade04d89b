// Helpers for the durability tests (crash_recovery, redelivery, long_sms):
// raw deliver_sm frames an SMSC re-sends byte for byte, long SMS cut where a
// phone would cut them (a surrogate pair may straddle two parts), restarts of
// laporsmsd on the same config and database, and the operator's view of what
// was stored. Every wait is bounded.

import assert from 'node:assert/strict';

import { buildPdu, encodeGsm, encodeUcs2 } from '../peers/smsc-sim.mjs';
import { laporctl, sqlite, startDaemon, waitFor } from './harness.mjs';

const k_deliver_sm = 0x00000005;

function cstring(value) {
  return Buffer.concat([Buffer.from(String(value), 'latin1'), Buffer.from([0])]);
}

// The fields of a deliver_sm body as the simulator's sendMo fills them
// (source TON/NPI 1/1, destination 0/0), so a raw frame and a sendMo of the
// same message carry the same content.
// `tlvs`: [{tag, value: Buffer}].
export function deliverSmBody({ from, to = '1708', esmClass = 0, dataCoding = 0, shortMessage, tlvs = [] }) {
  const message = Buffer.from(shortMessage);
  if (message.length > 254) {
    throw new Error(`deliverSmBody: short_message of ${message.length} octets`);
  }
  const parts = [
    cstring(''), // service_type
    Buffer.from([1, 1]), cstring(from),
    Buffer.from([0, 0]), cstring(to),
    Buffer.from([esmClass, 0, 0]), // esm_class, protocol_id, priority_flag
    cstring(''), cstring(''), // schedule_delivery_time, validity_period
    // registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id, sm_length
    Buffer.from([0, 0, dataCoding, 0, message.length]),
    message,
  ];
  for (const { tag, value } of tlvs) {
    const header = Buffer.alloc(4);
    header.writeUInt16BE(tag, 0);
    header.writeUInt16BE(value.length, 2);
    parts.push(header, Buffer.from(value));
  }
  return Buffer.concat(parts);
}

// A whole deliver_sm frame with `sequence`: the exact bytes an SMSC writes
// again when it redelivers without renumbering.
export function deliverSmFrame({ sequence, ...fields }) {
  return buildPdu({ commandId: k_deliver_sm, sequence, body: deliverSmBody(fields) });
}

// User data headers of a concatenated SMS: IEI 0x00 (8-bit reference) and
// IEI 0x08 (16-bit reference), each with its length octet in front.
export function udh8(ref, total, seq) {
  return Buffer.from([5, 0x00, 3, ref & 0xff, total, seq]);
}

export function udh16(ref, total, seq) {
  return Buffer.from([6, 0x08, 4, (ref >> 8) & 0xff, ref & 0xff, total, seq]);
}

// `text` as UCS-2 cut every `unitsPerPart` UTF-16 code units, as a phone that
// counts units (not characters) does: a surrogate pair may be split between
// two parts. Returns the parts' bytes.
export function ucs2PartsByUnits(text, unitsPerPart) {
  const bytes = encodeUcs2(text);
  const parts = [];
  for (let offset = 0; offset < bytes.length; offset += unitsPerPart * 2) {
    parts.push(bytes.subarray(offset, Math.min(bytes.length, offset + unitsPerPart * 2)));
  }
  return parts;
}

// `text` as unpacked GSM 03.38 cut every `septetsPerPart` septets (escape pairs kept whole).
export function gsmParts(text, septetsPerPart) {
  const parts = [];
  let current = [];
  for (const ch of text) {
    const septets = [...encodeGsm(ch)];
    if (current.length + septets.length > septetsPerPart) {
      parts.push(Buffer.from(current));
      current = [];
    }
    current.push(...septets);
  }
  parts.push(Buffer.from(current));
  return parts;
}

// Whether the boundary before part `k` (0-based) of a split every
// `unitsPerPart` UTF-16 units falls inside a surrogate pair of `text`.
export function cutsSurrogatePair(text, unitsPerPart, k) {
  const at = unitsPerPart * k;
  if (at <= 0 || at >= text.length) {
    return false;
  }
  const before = text.charCodeAt(at - 1);
  return before >= 0xd800 && before <= 0xdbff;
}

// Successful binds the simulator has seen so far.
export function okBinds(sim) {
  return sim.bindAttempts.filter((a) => a.ok).length;
}

// Starts laporsmsd again on `configPath` (same database) and, unless
// `waitForBind` is false, waits until it has bound to `sim` anew.
export async function restartDaemon(workdir, configPath, sim, { waitForBind = true, timeoutMs = 15000 } = {}) {
  const before = okBinds(sim);
  const daemon = await startDaemon(configPath, { workdir });
  if (waitForBind) {
    await waitFor(() => okBinds(sim) > before && sim.boundSessions().length > 0, {
      timeoutMs, daemon, what: () => `laporsmsd (pid ${daemon.pid}) to bind again (${okBinds(sim)} binds so far)`,
    });
  }
  return daemon;
}

// SIGKILL, and wait until the simulator has seen every session of it close.
export async function killDaemon(daemon, sim, { timeoutMs = 10000 } = {}) {
  const exit = await daemon.kill();
  await waitFor(() => sim.boundSessions().length === 0, {
    timeoutMs, what: 'the simulator to notice the killed daemon\'s session close',
  });
  return exit;
}

// laporctl --json reports (all of them).
export async function listReports(configPath) {
  const result = await laporctl(configPath, ['--json', 'reports', '--limit', '100000'], { timeoutMs: 20000 });
  assert.equal(result.code, 0, `laporctl reports exit code; stderr: ${result.stderr}`);
  assert.ok(Array.isArray(result.json), `laporctl reports prints a list: ${result.stdout.slice(0, 300)}`);
  return result.json;
}

// laporctl --json messages --direction out (all of them).
export async function listReplies(configPath) {
  const result = await laporctl(configPath, ['--json', 'messages', '--direction', 'out', '--limit', '100000'],
    { timeoutMs: 20000 });
  assert.equal(result.code, 0, `laporctl messages exit code; stderr: ${result.stderr}`);
  assert.ok(Array.isArray(result.json), `laporctl messages prints a list: ${result.stdout.slice(0, 300)}`);
  return result.json;
}

// Rows of `sql` from the database, read-only.
export function query(dbPath, sql) {
  return sqlite(dbPath, sql);
}

// Submits the simulator received grouped by (destination, part, text): those
// seen more than once, as [{key, count}].
export function repeatedSubmits(sim) {
  const counts = new Map();
  for (const s of sim.submits) {
    const part = s.udh ? `${s.udh.seq}/${s.udh.total}` : '1/1';
    const key = `${s.destination}|${part}|${s.text}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].filter(([, n]) => n > 1).map(([key, count]) => ({ key, count }));
}

// A pseudo-random generator with a seed, so a failing run can be replayed
// (mulberry32).
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
