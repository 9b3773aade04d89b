// The SMSC side of scripts/bench: a lean SMPP 3.4 server on node:net that
// offers MO load to laporsmsd as deliver_sm and answers its submit_sm.
//
// It runs as a child process of bench.mjs (child_process.fork, commands over
// the IPC channel) so that its CPU time is its own and it never shares an
// event loop with the LAPOR! API double. It is not smsc-sim.mjs: that one
// keeps a record of every PDU and goes through the `smpp` package's PDU
// objects, which costs more per message than this benchmark can spend on
// its own side. Here PDUs are written and read as bytes, only the fields the
// benchmark needs are parsed, and latencies go into preallocated arrays.
//
// Only what the daemon does is served: bind_transceiver / bind_receiver /
// bind_transmitter (any credentials), enquire_link, unbind, submit_sm,
// deliver_sm_resp, generic_nack; any other request gets generic_nack.
//
// A report is one GSM deliver_sm (data_coding 0), or with `parts` 3 a UCS-2
// text (data_coding 8) in three concatenated deliver_sm (UDH, 8-bit
// reference), sent one after the other. Counts of `sent` and `acked` and the
// latencies are per deliver_sm; `reportsSent` and `reports` count reports
// (a report is acknowledged when all its parts are).
//
// Commands (a message {id, cmd, ...}; the answer is {id, ok, result|error}):
//   status                   counters
//   run {phase, mode, ...}   offers one load and resolves once every
//                            deliver_sm is answered (or ackTimeoutMs passed)
//   waitReplies {phase, ...} resolves once the replies of a phase are in
//   stop                     closes everything and exits

import net from 'node:net';
import process from 'node:process';
import { performance } from 'node:perf_hooks';

const k_max_pdu = 64 * 1024;
const k_max_per_run = 1_000_000;
const k_empty = Buffer.alloc(0);

const Cmd = Object.freeze({
  generic_nack: 0x80000000,
  bind_receiver: 0x00000001,
  bind_transmitter: 0x00000002,
  submit_sm: 0x00000004,
  deliver_sm: 0x00000005,
  unbind: 0x00000006,
  bind_transceiver: 0x00000009,
  enquire_link: 0x00000015,
  response: 0x80000000,
});
const k_esme_rinvcmdid = 0x03;

// `|` in JS gives a signed 32-bit result; command ids are read unsigned.
const k_deliver_sm_resp = (Cmd.deliver_sm | Cmd.response) >>> 0;

const k_receives = new Set([Cmd.bind_receiver, Cmd.bind_transceiver]);

// Wall-clock milliseconds with sub-millisecond resolution, comparable across processes.
function epochMs() {
  return performance.timeOrigin + performance.now();
}

function pdu(commandId, status, sequence, body = k_empty) {
  const out = Buffer.allocUnsafe(16 + body.length);
  out.writeUInt32BE(16 + body.length, 0);
  out.writeUInt32BE(commandId >>> 0, 4);
  out.writeUInt32BE(status >>> 0, 8);
  out.writeUInt32BE(sequence >>> 0, 12);
  body.copy(out, 16);
  return out;
}

// deliver_sm from `source` (international, E.164) to 1708 with the given
// esm_class, data_coding and short_message octets; every other field empty.
function deliverSmPdu(sequence, source, esmClass, dataCoding, shortMessage) {
  const length = 16 + 1 + 2 + source.length + 1 + 2 + 5 + 3 + 1 + 1 + 2 + 3 + shortMessage.length;
  const out = Buffer.allocUnsafe(length);
  out.writeUInt32BE(length, 0);
  out.writeUInt32BE(Cmd.deliver_sm, 4);
  out.writeUInt32BE(0, 8);
  out.writeUInt32BE(sequence >>> 0, 12);
  let o = 16;
  out[o++] = 0; // service_type ""
  out[o++] = 1; // source_addr_ton: international
  out[o++] = 1; // source_addr_npi: E.164
  o += out.write(source, o, 'latin1');
  out[o++] = 0;
  out[o++] = 0; // dest_addr_ton
  out[o++] = 0; // dest_addr_npi
  o += out.write('1708', o, 'latin1');
  out[o++] = 0;
  out[o++] = esmClass;
  out[o++] = 0; // protocol_id
  out[o++] = 0; // priority_flag
  out[o++] = 0; // schedule_delivery_time ""
  out[o++] = 0; // validity_period ""
  out[o++] = 0; // registered_delivery
  out[o++] = 0; // replace_if_present_flag
  out[o++] = dataCoding;
  out[o++] = 0; // sm_default_msg_id
  out[o++] = shortMessage.length;
  o += shortMessage.copy(out, o);
  if (o !== length) {
    throw new Error(`deliver_sm length ${o} != ${length}`);
  }
  return out;
}

// deliver_sm with `text` (ASCII letters, digits, blanks and full stops only:
// the same octets in GSM 03.38 unpacked, data_coding 0, the SMSC default).
function deliverSm(sequence, source, text) {
  return deliverSmPdu(sequence, source, 0, 0, Buffer.from(text, 'latin1'));
}

// deliver_sm carrying one part of a concatenated UCS-2 message: esm_class
// 0x40 (UDHI), data_coding 8, short_message = UDH (IE 0x00: 8-bit reference
// `ref`, `total` parts, this is part `seq`) + `data`.
function deliverSmPart(sequence, source, ref, total, seq, data) {
  const udh = Buffer.from([5, 0x00, 3, ref & 0xff, total, seq]);
  return deliverSmPdu(sequence, source, 0x40, 8, Buffer.concat([udh, data]));
}

// The UTF-16BE octets of report `index` in UCS-2 (curly quotes and a dash, as
// a phone types them, keep it out of GSM 03.38), cut into `parts` pieces of at
// most 134 octets (67 characters), the most a part holds beside its UDH.
const k_ucs2_part_octets = 134;
function ucs2Parts(index, parts) {
  const text = `LAPORYAI Jalan berlubang \u201cnomor ${index}\u201d di Jl. Ahmad Yani dekat pasar kota \u2014 ` +
    'sudah tiga minggu tidak diperbaiki, motor sering jatuh. Mohon ditindaklanjuti dinas PU, ' +
    'RT 03/RW 05 Kel. Sukamaju.';
  const octets = Buffer.from(text, 'utf16le').swap16();
  const need = Math.ceil(octets.length / k_ucs2_part_octets);
  if (need !== parts) {
    throw new Error(`the UCS-2 report text takes ${need} parts, not ${parts}`);
  }
  const out = [];
  for (let i = 0; i < parts; i++) {
    out.push(octets.subarray(i * k_ucs2_part_octets, Math.min(octets.length, (i + 1) * k_ucs2_part_octets)));
  }
  return out;
}

// Index just past the NUL of a C string starting at `o`, or -1 when none within `max`.
function skipCString(buf, o, end, max) {
  const stop = Math.min(end, o + max);
  for (let i = o; i < stop; i++) {
    if (buf[i] === 0) {
      return i + 1;
    }
  }
  return -1;
}

// {destination, first, text} of a submit_sm body, or null when malformed.
// `first` is false for parts 2..n of a concatenated message; `text` is the
// start of the (first part's) text, enough to tell the replies apart.
function parseSubmit(buf, start, end) {
  let o = skipCString(buf, start, end, 6); // service_type
  if (o < 0 || o + 2 > end) {
    return null;
  }
  o += 2; // source ton, npi
  o = skipCString(buf, o, end, 21);
  if (o < 0 || o + 2 > end) {
    return null;
  }
  o += 2; // dest ton, npi
  const destStart = o;
  o = skipCString(buf, o, end, 21);
  if (o < 0 || o + 3 > end) {
    return null;
  }
  const destination = buf.toString('latin1', destStart, o - 1);
  const esmClass = buf[o];
  o += 3; // esm_class, protocol_id, priority_flag
  o = skipCString(buf, o, end, 17);
  if (o < 0) {
    return null;
  }
  o = skipCString(buf, o, end, 17);
  if (o < 0 || o + 5 > end) {
    return null;
  }
  const dataCoding = buf[o + 2];
  const smLength = buf[o + 4];
  o += 5;
  if (o + smLength > end) {
    return null;
  }
  let body = buf.subarray(o, o + smLength);
  if (smLength === 0) {
    // message_payload (0x0424) instead of short_message.
    let t = o;
    while (t + 4 <= end) {
      const tag = buf.readUInt16BE(t);
      const len = buf.readUInt16BE(t + 2);
      if (t + 4 + len > end) {
        return null;
      }
      if (tag === 0x0424) {
        body = buf.subarray(t + 4, t + 4 + len);
        break;
      }
      t += 4 + len;
    }
  }
  let first = true;
  if (esmClass & 0x40) {
    const udhl = body.length ? body[0] : 0;
    if (udhl + 1 > body.length) {
      return null;
    }
    // IE 0x00 (8-bit ref) or 0x08 (16-bit ref): the sequence number is its last octet.
    let i = 1;
    while (i + 2 <= udhl + 1) {
      const iei = body[i];
      const len = body[i + 1];
      if ((iei === 0x00 && len === 3) || (iei === 0x08 && len === 4)) {
        first = body[i + 1 + len] === 1;
      }
      i += 2 + len;
    }
    body = body.subarray(udhl + 1);
  }
  const head = body.subarray(0, Math.min(body.length, 80));
  const text = dataCoding === 0x08
    ? Buffer.from(head.subarray(0, head.length & ~1)).swap16().toString('utf16le')
    : head.toString('latin1');
  return { destination, first, text };
}

// The reply kinds of interfaces.md §2 [replies] defaults that a report causes.
function replyKind(text) {
  if (text.startsWith('Terima kasih, laporan Anda kami terima')) {
    return 'received';
  }
  if (text.startsWith('Laporan ') && text.includes(' sudah masuk LAPOR!')) {
    return 'forwarded';
  }
  return 'other';
}

// The phase of a sender number: the digits after 62812 before the running index.
const k_sender_prefix = '62812';
function sender(phase, index) {
  return `${k_sender_prefix}${String(phase).padStart(2, '0')}${String(index).padStart(6, '0')}`;
}
function phaseOf(msisdn) {
  if (msisdn.length !== 13 || !msisdn.startsWith(k_sender_prefix)) {
    return -1;
  }
  return Number(msisdn.slice(5, 7));
}

function percentile(sorted, p) {
  if (sorted.length === 0) {
    return null;
  }
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

// --- state ---------------------------------------------------------------------

const g_sessions = new Set();
const g_counters = {
  connections: 0,
  binds: 0,
  enquireLinks: 0,
  unbinds: 0,
  genericNacks: 0,
  protocolErrors: [],
  submitParts: 0,
  submitMalformed: 0,
};
// phase → {received, forwarded, other, firstAt, lastReceivedAt, lastForwardedAt, lastAt}
const g_replies = new Map();
const g_reply_waiters = new Set();
let g_next_sequence = 1;
let g_next_message_id = 1;
let g_run = null;
let g_server = null;

function repliesOf(phase) {
  let r = g_replies.get(phase);
  if (!r) {
    r = { received: 0, forwarded: 0, other: 0, firstAt: null, lastReceivedAt: null, lastForwardedAt: null, lastAt: null };
    g_replies.set(phase, r);
  }
  return r;
}

function receiver() {
  for (const s of g_sessions) {
    if (s.bound && s.receives && !s.socket.destroyed) {
      return s;
    }
  }
  return null;
}

// --- one SMPP session ------------------------------------------------------------

class Session {
  constructor(socket) {
    this.socket = socket;
    this.buffer = k_empty;
    this.bound = false;
    this.receives = false;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      g_sessions.delete(this);
      if (g_run) {
        g_run.sessionLost = true;
      }
    });
  }

  onData(chunk) {
    const buf = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    let off = 0;
    this.socket.cork();
    while (buf.length - off >= 16) {
      const length = buf.readUInt32BE(off);
      if (length < 16 || length > k_max_pdu) {
        g_counters.protocolErrors.push(`command_length ${length}`);
        this.socket.destroy();
        return;
      }
      if (buf.length - off < length) {
        break;
      }
      this.onPdu(buf, off, length);
      off += length;
    }
    this.buffer = off === buf.length ? k_empty : Buffer.from(buf.subarray(off));
    if (g_run && g_run.mode === 'window') {
      pump();
    }
    this.socket.uncork();
  }

  onPdu(buf, off, length) {
    const commandId = buf.readUInt32BE(off + 4);
    const status = buf.readUInt32BE(off + 8);
    const sequence = buf.readUInt32BE(off + 12);
    switch (commandId) {
      case k_deliver_sm_resp:
        onDeliverResp(sequence, status);
        return;
      case Cmd.submit_sm:
        this.onSubmit(buf, off + 16, off + length, sequence);
        return;
      case Cmd.enquire_link:
        g_counters.enquireLinks++;
        this.socket.write(pdu(Cmd.enquire_link | Cmd.response, 0, sequence));
        return;
      case Cmd.bind_receiver:
      case Cmd.bind_transmitter:
      case Cmd.bind_transceiver:
        this.onBind(commandId, sequence);
        return;
      case Cmd.unbind:
        g_counters.unbinds++;
        this.bound = false;
        this.socket.write(pdu(Cmd.unbind | Cmd.response, 0, sequence));
        this.socket.end();
        return;
      case Cmd.generic_nack:
        g_counters.genericNacks++;
        return;
      default:
        if (!(commandId & Cmd.response)) {
          this.socket.write(pdu(Cmd.generic_nack, k_esme_rinvcmdid, sequence));
        }
    }
  }

  onBind(commandId, sequence) {
    const body = Buffer.from('bench-smsc\0', 'latin1');
    if (this.bound) {
      this.socket.write(pdu(commandId | Cmd.response, 0x05, sequence, body)); // ESME_RALYBND
      return;
    }
    this.bound = true;
    this.receives = k_receives.has(commandId);
    g_counters.binds++;
    this.socket.write(pdu(commandId | Cmd.response, 0, sequence, body));
    process.send({ event: 'bound', binds: g_counters.binds });
  }

  onSubmit(buf, start, end, sequence) {
    g_counters.submitParts++;
    const parsed = parseSubmit(buf, start, end);
    if (!parsed) {
      g_counters.submitMalformed++;
      this.socket.write(pdu(Cmd.submit_sm | Cmd.response, 0x01, sequence)); // ESME_RINVMSGLEN
      return;
    }
    const id = Buffer.from(`b${(g_next_message_id++).toString(16)}\0`, 'latin1');
    this.socket.write(pdu(Cmd.submit_sm | Cmd.response, 0, sequence, id));
    if (!parsed.first) {
      return;
    }
    const phase = phaseOf(parsed.destination);
    const r = repliesOf(phase);
    const now = epochMs();
    const kind = replyKind(parsed.text);
    r[kind]++;
    r.firstAt ??= now;
    r.lastAt = now;
    if (kind === 'received') {
      r.lastReceivedAt = now;
    } else if (kind === 'forwarded') {
      r.lastForwardedAt = now;
    }
    if (g_reply_waiters.size) {
      for (const w of g_reply_waiters) {
        w.check();
      }
    }
  }
}

// --- offered load ----------------------------------------------------------------

function onDeliverResp(sequence, status) {
  const run = g_run;
  if (!run) {
    return;
  }
  const index = sequence - run.firstSequence;
  if (index < 0 || index >= run.sent || run.sentAt[index] < 0) {
    run.stray++;
    return;
  }
  const latency = performance.now() - run.sentAt[index];
  run.sentAt[index] = -1;
  run.outstanding--;
  run.lastAckAt = performance.now();
  if (status === 0) {
    run.latencies[run.acked++] = latency;
    if (run.parts === 1) {
      run.reports++;
    } else {
      const report = Math.floor(index / run.parts);
      if (++run.partsAcked[report] === run.parts) {
        run.reports++;
      }
    }
  } else {
    run.rejected[status] = (run.rejected[status] ?? 0) + 1;
    run.rejectedCount++;
  }
  if (run.sendingDone && run.outstanding === 0) {
    finishRun();
  }
}

// The deliver_sm numbered `index` in this run: a whole report, or one part of one.
function frameOf(run, index, sequence) {
  if (run.parts === 1) {
    return deliverSm(sequence, sender(run.phase, index),
      `LAPORYAI jalan berlubang nomor ${index} di Jl. Ahmad Yani dekat pasar kota`);
  }
  const report = Math.floor(index / run.parts);
  const part = index % run.parts;
  if (part === 0) {
    run.pieces = ucs2Parts(report, run.parts);
  }
  return deliverSmPart(sequence, sender(run.phase, report), report, run.parts, part + 1, run.pieces[part]);
}

// Sends what the schedule (rate mode) or the window (window mode) allows now.
// The schedule and the limit count reports; the window counts deliver_sm.
// Sending ends between reports, never with a report's parts left unsent.
function pump() {
  const run = g_run;
  if (!run || run.sendingDone) {
    return;
  }
  const now = performance.now();
  const elapsed = now - run.startAt;
  const between = run.sent % run.parts === 0;
  if (between && (elapsed >= run.durationMs || run.sent >= run.limit)) {
    endSending();
    return;
  }
  const session = receiver();
  if (!session) {
    run.sessionLost = true;
    endSending();
    return;
  }
  let due = run.limit;
  if (elapsed >= run.durationMs) {
    due = Math.ceil(run.sent / run.parts) * run.parts; // the rest of the report under way
  } else if (run.mode === 'rate') {
    due = Math.min(run.limit, (Math.floor((elapsed * run.rate) / 1000) + 1) * run.parts);
  }
  const n = Math.min(due - run.sent, run.maxOutstanding - run.outstanding);
  if (n > 0) {
    const socket = session.socket;
    socket.cork();
    for (let k = 0; k < n; k++) {
      const index = run.sent;
      const frame = frameOf(run, index, run.firstSequence + index);
      run.sentAt[index] = performance.now();
      run.sent++;
      run.outstanding++;
      socket.write(frame);
    }
    socket.uncork();
    run.lastSendAt = performance.now();
  } else if (due > run.sent) {
    run.windowStalls++;
  }
}

function tick() {
  if (!g_run || g_run.sendingDone) {
    return;
  }
  pump();
  if (g_run && !g_run.sendingDone) {
    // Rate mode paces on a 1 ms timer; window mode refills on each response and
    // only needs the timer to notice the end of the run.
    g_run.timer = setTimeout(tick, g_run.mode === 'rate' ? 1 : 5);
  }
}

function endSending() {
  const run = g_run;
  if (run.sendingDone) {
    return;
  }
  run.sendingDone = true;
  run.sendEndAt = performance.now();
  clearTimeout(run.timer);
  g_next_sequence = run.firstSequence + run.sent;
  if (run.outstanding === 0 || run.sessionLost) {
    finishRun();
    return;
  }
  run.ackTimer = setTimeout(() => finishRun(), run.ackTimeoutMs);
}

function finishRun() {
  const run = g_run;
  if (!run || run.finished) {
    return;
  }
  run.finished = true;
  clearTimeout(run.timer);
  clearTimeout(run.ackTimer);
  g_run = null;
  const cpu = process.cpuUsage(run.cpuStart);
  const latencies = run.latencies.subarray(0, run.acked).sort();
  const sendWallMs = (run.sendEndAt ?? performance.now()) - run.startAt;
  const lastAck = run.lastAckAt ?? run.startAt;
  const wallS = Math.max(sendWallMs, lastAck - run.startAt) / 1000;
  run.resolve({
    phase: run.phase,
    mode: run.mode,
    rate: run.rate,
    window: run.maxOutstanding,
    parts: run.parts,
    startEpochMs: run.startEpochMs,
    sent: run.sent,
    acked: run.acked,
    reportsSent: Math.ceil(run.sent / run.parts),
    reports: run.reports,
    rejected: run.rejected,
    rejectedCount: run.rejectedCount,
    unanswered: run.outstanding,
    stray: run.stray,
    windowStalls: run.windowStalls,
    sessionLost: run.sessionLost,
    hitLimit: run.mode === 'window' && run.sent >= run.limit,
    sendWallMs,
    ackWallMs: lastAck - run.startAt,
    offeredPerSec: run.sent / (sendWallMs / 1000),
    ackedPerSec: run.acked / wallS,
    reportsPerSec: run.reports / wallS,
    latencyMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies.length ? latencies[latencies.length - 1] : null,
      mean: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : null,
    },
    cpuMs: (cpu.user + cpu.system) / 1000,
  });
}

// Offers load: mode 'rate' sends `rate` reports per second on schedule with
// at most `maxOutstanding` deliver_sm unanswered; mode 'window' keeps exactly
// `maxOutstanding` unanswered. Either stops after `durationMs` or `limit`
// reports, then waits up to `ackTimeoutMs` for the last responses. `parts` 1
// sends each report as one GSM deliver_sm, 3 as three UCS-2 parts.
function startRun({ phase, mode, rate = 0, maxOutstanding, durationMs, limit, ackTimeoutMs = 30000, parts = 1 }) {
  if (g_run) {
    return Promise.reject(new Error('a run is already going'));
  }
  if (!receiver()) {
    return Promise.reject(new Error('no session is bound to receive'));
  }
  if (!['rate', 'window'].includes(mode) || !(maxOutstanding >= 1) || !(durationMs > 0) || ![1, 3].includes(parts)) {
    return Promise.reject(new Error(`bad run parameters ${JSON.stringify({ mode, maxOutstanding, durationMs, parts })}`));
  }
  const cap = Math.min(limit ?? Infinity, mode === 'rate' ? Math.ceil((rate * durationMs) / 1000) : Infinity);
  // Senders carry a 6-digit index, so at most 10^6 deliver_sm per run (and
  // reports: a part's reference is the report's index); a window run that
  // gets there ends early (its rates stay right: they divide by the time taken).
  const capacity = Math.min(Math.floor(k_max_per_run / parts), cap) * parts;
  return new Promise((resolve) => {
    g_run = {
      phase, mode, rate, maxOutstanding, durationMs, ackTimeoutMs, resolve, parts,
      limit: capacity,
      firstSequence: g_next_sequence,
      sentAt: new Float64Array(capacity),
      latencies: new Float64Array(capacity),
      partsAcked: parts === 1 ? null : new Uint8Array(capacity / parts),
      pieces: null,
      sent: 0, acked: 0, reports: 0, outstanding: 0, stray: 0, rejected: {}, rejectedCount: 0, windowStalls: 0,
      sessionLost: false, sendingDone: false, finished: false,
      startAt: performance.now(), startEpochMs: epochMs(), lastAckAt: null, sendEndAt: null, lastSendAt: null,
      cpuStart: process.cpuUsage(), timer: null, ackTimer: null,
    };
    tick();
  });
}

// Resolves once phase `phase` has at least `received` and `forwarded`
// replies, or after `timeoutMs` with what came so far.
function waitReplies({ phase, received, forwarded, timeoutMs }) {
  return new Promise((resolve) => {
    const waiter = {
      check() {
        const r = repliesOf(phase);
        if (r.received >= received && r.forwarded >= forwarded) {
          clearTimeout(waiter.timer);
          g_reply_waiters.delete(waiter);
          resolve({ reached: true, ...r });
        }
      },
    };
    waiter.timer = setTimeout(() => {
      g_reply_waiters.delete(waiter);
      resolve({ reached: false, ...repliesOf(phase) });
    }, timeoutMs);
    g_reply_waiters.add(waiter);
    waiter.check();
  });
}

function status() {
  return {
    ...g_counters,
    sessions: g_sessions.size,
    bound: [...g_sessions].filter((s) => s.bound).length,
    replies: Object.fromEntries(g_replies),
    cpuMs: (() => {
      const c = process.cpuUsage();
      return (c.user + c.system) / 1000;
    })(),
  };
}

async function stop() {
  if (g_run) {
    endSending();
    finishRun();
  }
  for (const w of g_reply_waiters) {
    clearTimeout(w.timer);
  }
  g_reply_waiters.clear();
  for (const s of g_sessions) {
    s.socket.destroy();
  }
  if (g_server) {
    await new Promise((resolve) => g_server.close(() => resolve()));
  }
}

// --- main --------------------------------------------------------------------------

if (!process.send) {
  process.stderr.write('bench-load.mjs runs as a child of bench.mjs (it needs the IPC channel)\n');
  process.exit(64);
}

process.on('disconnect', () => {
  // The parent went away: nothing left to serve.
  stop().finally(() => process.exit(0));
});

process.on('message', async (message) => {
  const { id, cmd } = message;
  try {
    let result;
    if (cmd === 'status') {
      result = status();
    } else if (cmd === 'run') {
      result = await startRun(message);
    } else if (cmd === 'waitReplies') {
      result = await waitReplies(message);
    } else if (cmd === 'stop') {
      await stop();
      process.send({ id, ok: true, result: null }, () => process.exit(0));
      return;
    } else {
      throw new Error(`unknown command ${cmd}`);
    }
    process.send({ id, ok: true, result });
  } catch (error) {
    process.send({ id, ok: false, error: error.message });
  }
});

g_server = net.createServer((socket) => {
  g_counters.connections++;
  g_sessions.add(new Session(socket));
});
g_server.listen(0, '127.0.0.1', () => {
  process.send({ event: 'ready', port: g_server.address().port });
});
