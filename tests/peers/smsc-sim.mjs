// SMSC simulator: the carrier side of SMPP 3.4 for laporsmsd's integration
// tests and the demo, on the npm `smpp` package (framing, sessions, PDU
// encoding). Message bodies are encoded and decoded here, from the raw bytes,
// because the package's own text handling differs from what carriers send:
//
//  - given a JS string, the package labels GSM 03.38 text data_coding 0x01
//    (which SMPP defines as IA5/ASCII) and replaces unmappable characters with
//    spaces; we always hand it a Buffer and an explicit data_coding, and it
//    copies a Buffer to the wire unchanged.
//  - on receipt, it decodes short_message lossily (unknown octets become
//    spaces, odd UCS-2 lengths vanish); we keep each PDU's raw bytes and parse
//    submit_sm bodies ourselves (bounded, never trusting a length).
//
// What goes on the wire for an MO given as a JS string: GSM 03.38 default
// alphabet with its extension table (escape 0x1B), unpacked, one septet per
// octet, data_coding 0 -- the usual SMPP convention, read by laporsmsd as
// default_data_coding = "gsm7". Text with any character outside GSM 03.38 goes
// as UCS-2 (UTF-16BE, surrogate pairs kept), data_coding 8.
//
// Plain TCP by default; given `tls: {key, cert}` it serves SMPP over TLS (the
// package's TLS server), for [[smsc]] tls = true, and records the handshakes
// in `tlsHandshakes` and the failed ones in `tlsErrors`.

import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';

const require = createRequire(import.meta.url);
const smpp = require('smpp');

// Keep the raw bytes of every PDU the package parses, as a non-enumerable
// property so the package's own field loops never see it.
const k_raw = Symbol.for('laporsms.rawPdu');
if (!smpp.PDU.prototype[k_raw]) {
  const original_from_buffer = smpp.PDU.prototype.fromBuffer;
  smpp.PDU.prototype.fromBuffer = function fromBufferKeepingRaw(buffer) {
    Object.defineProperty(this, 'rawBuffer', { value: Buffer.from(buffer), enumerable: false });
    return original_from_buffer.call(this, buffer);
  };
  Object.defineProperty(smpp.PDU.prototype, k_raw, { value: true });
}

// For a submitResponder: the SMSC takes the message (gives it a message id,
// sends its receipt as receiptPolicy says) but its submit_sm_resp never
// reaches the ESME.
export const TakeWithoutAnswer = Symbol('take-without-answer');

export const Status = Object.freeze({
  ESME_ROK: 0x00,
  ESME_RINVMSGLEN: 0x01,
  ESME_RINVCMDLEN: 0x02,
  ESME_RINVCMDID: 0x03,
  ESME_RINVBNDSTS: 0x04,
  ESME_RALYBND: 0x05,
  ESME_RSYSERR: 0x08,
  ESME_RINVPASWD: 0x0e,
  ESME_RINVSYSID: 0x0f,
  ESME_RMSGQFUL: 0x14,
  ESME_RTHROTTLED: 0x58,
  ESME_RX_T_APPN: 0x64,
});

// message_state values (SMPP 3.4 §5.2.28) by the receipt words of Appendix B.
const k_message_states = Object.freeze({
  ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8,
});

// YYMMDDhhmm, the date form of a receipt's text.
function receiptTimestamp(date) {
  const two = (n) => String(n).padStart(2, '0');
  return `${two(date.getUTCFullYear() % 100)}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}` +
    `${two(date.getUTCHours())}${two(date.getUTCMinutes())}`;
}

// A raw PDU: the 16-octet header and `body`. `commandLength` overrides the
// length field (default: the true length), for frames that lie about it.
export function buildPdu({ commandId, commandStatus = 0, sequence, body = Buffer.alloc(0), commandLength } = {}) {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(commandLength ?? 16 + body.length, 0);
  header.writeUInt32BE(commandId >>> 0, 4);
  header.writeUInt32BE(commandStatus >>> 0, 8);
  header.writeUInt32BE(sequence >>> 0, 12);
  return Buffer.concat([header, Buffer.from(body)]);
}

// --- GSM 03.38 ---------------------------------------------------------------

// Default alphabet, index = septet value. 0x1B is the escape to the extension table.
const k_gsm_basic = [
  '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
  'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\x1b', 'Æ', 'æ', 'ß', 'É',
  ' ', '!', '"', '#', '¤', '%', '&', "'", '(', ')', '*', '+', ',', '-', '.', '/',
  '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
  '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
  'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
  '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
  'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
];
// Extension table: septet after 0x1B → character.
const k_gsm_extension = new Map([
  [0x0a, '\f'], [0x14, '^'], [0x28, '{'], [0x29, '}'], [0x2f, '\\'],
  [0x3c, '['], [0x3d, '~'], [0x3e, ']'], [0x40, '|'], [0x65, '€'],
]);
const k_gsm_encode = new Map();
k_gsm_basic.forEach((ch, septet) => {
  if (septet !== 0x1b) {
    k_gsm_encode.set(ch, [septet]);
  }
});
for (const [septet, ch] of k_gsm_extension) {
  k_gsm_encode.set(ch, [0x1b, septet]);
}

// True when every character of `text` is in GSM 03.38 (basic or extension).
export function gsmFits(text) {
  for (const ch of text) {
    if (!k_gsm_encode.has(ch)) {
      return false;
    }
  }
  return true;
}

// `text` as unpacked GSM 03.38 septets, one per octet; throws when a character does not fit.
export function encodeGsm(text) {
  const out = [];
  for (const ch of text) {
    const septets = k_gsm_encode.get(ch);
    if (!septets) {
      throw new Error(`character U+${ch.codePointAt(0).toString(16).toUpperCase()} is not in GSM 03.38`);
    }
    out.push(...septets);
  }
  return Buffer.from(out);
}

// Unpacked GSM 03.38 octets as text. An octet above 0x7F or an unknown escape
// decodes to U+FFFD so a test sees the defect instead of a silently changed text.
export function decodeGsm(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b > 0x7f) {
      text += '\ufffd';
    } else if (b === 0x1b) {
      if (i + 1 >= bytes.length) {
        text += '\ufffd';
        continue;
      }
      const ext = k_gsm_extension.get(bytes[++i]);
      text += ext ?? '\ufffd';
    } else {
      text += k_gsm_basic[b];
    }
  }
  return text;
}

// UTF-16BE, as phones send UCS-2 (characters outside the BMP as surrogate pairs).
export function encodeUcs2(text) {
  return Buffer.from(text, 'utf16le').swap16();
}

// UTF-16BE octets as text; an odd trailing octet decodes to U+FFFD.
export function decodeUcs2(bytes) {
  const even = bytes.length - (bytes.length % 2);
  const swapped = Buffer.from(bytes.subarray(0, even)).swap16();
  return swapped.toString('utf16le') + (even === bytes.length ? '' : '\ufffd');
}

// Text of a message body in `dataCoding` (SMPP 3.4 §5.2.19), `gsm7` meaning data_coding 0.
export function decodeText(bytes, dataCoding) {
  if (dataCoding === 0x08) {
    return decodeUcs2(bytes);
  }
  if (dataCoding === 0x03) {
    return bytes.toString('latin1');
  }
  if (dataCoding === 0x01) {
    return bytes.toString('ascii');
  }
  if ((dataCoding & 0xf0) === 0xf0) {
    // Message class coding group: bit 2 set means 8-bit data, clear means GSM.
    return dataCoding & 0x04 ? bytes.toString('latin1') : decodeGsm(bytes);
  }
  if ((dataCoding & 0xc0) === 0x00 && (dataCoding & 0x0c) === 0x08) {
    return decodeUcs2(bytes);
  }
  return decodeGsm(bytes);
}

// --- submit_sm parsing ---------------------------------------------------------

class Reader {
  constructor(buffer, offset, end) {
    this.buffer = buffer;
    this.offset = offset;
    this.end = end;
  }
  u8(field) {
    if (this.offset + 1 > this.end) {
      throw new Error(`PDU ends before ${field}`);
    }
    return this.buffer[this.offset++];
  }
  cstring(field, max) {
    const stop = Math.min(this.end, this.offset + max);
    for (let i = this.offset; i < stop; i++) {
      if (this.buffer[i] === 0) {
        const value = this.buffer.toString('latin1', this.offset, i);
        this.offset = i + 1;
        return value;
      }
    }
    throw new Error(`${field}: no terminating NUL within ${max} octets`);
  }
  bytes(field, length) {
    if (this.offset + length > this.end) {
      throw new Error(`${field}: ${length} octets announced, ${this.end - this.offset} left`);
    }
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return Buffer.from(value);
  }
}

// Concatenation info from a user data header: {ref, total, seq, refBits} or null.
export function parseUdh(udhBytes) {
  let offset = 0;
  while (offset + 2 <= udhBytes.length) {
    const iei = udhBytes[offset];
    const length = udhBytes[offset + 1];
    const data = udhBytes.subarray(offset + 2, offset + 2 + length);
    if (data.length !== length) {
      return null;
    }
    if (iei === 0x00 && length === 3) {
      return { ref: data[0], total: data[1], seq: data[2], refBits: 8 };
    }
    if (iei === 0x08 && length === 4) {
      return { ref: data.readUInt16BE(0), total: data[2], seq: data[3], refBits: 16 };
    }
    offset += 2 + length;
  }
  return null;
}

// The fields of a raw submit_sm PDU (header included) that a test looks at.
// Throws an Error naming the defect when the PDU is malformed.
export function parseSubmitSm(raw) {
  if (raw.length < 16) {
    throw new Error('PDU shorter than its header');
  }
  const commandLength = raw.readUInt32BE(0);
  if (commandLength !== raw.length) {
    throw new Error(`command_length ${commandLength} but ${raw.length} octets`);
  }
  const r = new Reader(raw, 16, raw.length);
  const pdu = {};
  pdu.serviceType = r.cstring('service_type', 6);
  pdu.sourceTon = r.u8('source_addr_ton');
  pdu.sourceNpi = r.u8('source_addr_npi');
  pdu.source = r.cstring('source_addr', 21);
  pdu.destinationTon = r.u8('dest_addr_ton');
  pdu.destinationNpi = r.u8('dest_addr_npi');
  pdu.destination = r.cstring('destination_addr', 21);
  pdu.esmClass = r.u8('esm_class');
  pdu.protocolId = r.u8('protocol_id');
  pdu.priorityFlag = r.u8('priority_flag');
  pdu.scheduleDeliveryTime = r.cstring('schedule_delivery_time', 17);
  pdu.validityPeriod = r.cstring('validity_period', 17);
  pdu.registeredDelivery = r.u8('registered_delivery');
  pdu.replaceIfPresent = r.u8('replace_if_present_flag');
  pdu.dataCoding = r.u8('data_coding');
  pdu.smDefaultMsgId = r.u8('sm_default_msg_id');
  const smLength = r.u8('sm_length');
  pdu.shortMessage = r.bytes('short_message', smLength);
  pdu.tlvs = new Map();
  while (r.offset < r.end) {
    if (r.end - r.offset < 4) {
      throw new Error(`${r.end - r.offset} stray octets after the last TLV`);
    }
    const tag = raw.readUInt16BE(r.offset);
    const length = raw.readUInt16BE(r.offset + 2);
    r.offset += 4;
    pdu.tlvs.set(tag, r.bytes(`TLV 0x${tag.toString(16).padStart(4, '0')}`, length));
  }
  return pdu;
}

const k_tlv_sar_msg_ref_num = 0x020c;
const k_tlv_sar_total_segments = 0x020e;
const k_tlv_sar_segment_seqnum = 0x020f;
const k_tlv_message_payload = 0x0424;

// Splits a parsed submit_sm into {payload, udh, text}: the body without its
// UDH, the concatenation info (UDH or SAR TLVs) and the decoded text.
export function messageContent(pdu) {
  let body = pdu.shortMessage;
  if (body.length === 0 && pdu.tlvs.has(k_tlv_message_payload)) {
    body = pdu.tlvs.get(k_tlv_message_payload);
  }
  let udh = null;
  let payload = body;
  if (pdu.esmClass & 0x40) {
    if (body.length < 1 || body[0] + 1 > body.length) {
      throw new Error('UDHI set but the user data header does not fit the message');
    }
    udh = parseUdh(body.subarray(1, body[0] + 1));
    payload = body.subarray(body[0] + 1);
  }
  const sarRef = pdu.tlvs.get(k_tlv_sar_msg_ref_num);
  const sarTotal = pdu.tlvs.get(k_tlv_sar_total_segments);
  const sarSeq = pdu.tlvs.get(k_tlv_sar_segment_seqnum);
  if (!udh && sarRef?.length === 2 && sarTotal?.length === 1 && sarSeq?.length === 1) {
    udh = { ref: sarRef.readUInt16BE(0), total: sarTotal[0], seq: sarSeq[0], refBits: 16, sar: true };
  }
  return { payload: Buffer.from(payload), udh, text: decodeText(payload, pdu.dataCoding) };
}

// 628123456789 → 62812****789: enough to tell numbers apart in a log.
export function maskMsisdn(msisdn) {
  const s = String(msisdn);
  if (s.length <= 6) {
    return s.replace(/.(?=.{2})/g, '*');
  }
  return `${s.slice(0, 5)}${'*'.repeat(s.length - 8)}${s.slice(-3)}`;
}

function timeoutError(what, ms) {
  const error = new Error(`timed out after ${ms} ms waiting for ${what}`);
  error.code = 'ETIMEDOUT';
  return error;
}

const k_bind_commands = {
  bind_transceiver: { type: 'transceiver', receives: true, transmits: true },
  bind_transmitter: { type: 'transmitter', receives: false, transmits: true },
  bind_receiver: { type: 'receiver', receives: true, transmits: false },
};

// --- the simulator ------------------------------------------------------------

export class SmscSimulator extends EventEmitter {
  #systemId;
  #password;
  #log;
  #server = null;
  #port = 0;
  #refusing = false;
  #sessions = new Map(); // sessionIndex → {session, index, bound, bindType, receives, transmits}
  #nextSessionIndex = 0;
  #nextMessageId = 1;
  #waiters = new Set();
  #tls = null; // {key, cert} when serving SMPP over TLS

  // `logger`: a function taking one line, or an object with info(); phone numbers are masked.
  // `tls`: null (the default) serves plain TCP; {key, cert} (PEM, string or Buffer) serves
  // SMPP over TLS with that certificate (sessions start once the handshake is done).
  constructor({ systemId = 'laporsms', password = 'secret', logger = null, tls = null } = {}) {
    super();
    if (tls !== null && (!tls?.key || !tls?.cert)) {
      throw new Error('tls needs {key, cert}: the PEM key and certificate the simulator serves');
    }
    this.#tls = tls ? { key: tls.key, cert: tls.cert } : null;
    this.#systemId = systemId;
    this.#password = password;
    if (typeof logger === 'function') {
      this.#log = logger;
    } else if (logger && typeof logger.info === 'function') {
      this.#log = (line) => logger.info(line);
    } else {
      this.#log = () => {};
    }
    this.bindAttempts = []; // {time, sessionIndex, command, systemId, ok, status}
    this.submits = [];
    this.deliverResponses = []; // {time, sessionIndex, sequence, status}
    this.enquireLinks = 0;
    this.unbinds = []; // {time, sessionIndex}
    this.genericNacks = []; // {time, sessionIndex, sequence, status}
    this.protocolErrors = []; // {time, sessionIndex, error}
    this.connections = 0;
    // TLS handshakes that failed (the peer refused our certificate, or spoke plain SMPP):
    // {time, code, message}. Always empty without `tls`.
    this.tlsErrors = [];
    // TLS handshakes that succeeded: {time, protocol, cipher, servername (the SNI the peer sent)}.
    this.tlsHandshakes = [];
    // Every response PDU the daemon sent: {time, sessionIndex, command, commandId, sequence, status}.
    this.responses = [];
    // Every enquire_link the daemon sent, answered or not: {time, sessionIndex, answered}.
    this.enquireLinkRequests = [];
    // One record per TCP session, kept after it closes: {sessionIndex, connectedAt, closedAt,
    // closedBy ('sim' when the simulator closed it, 'peer' otherwise), bindType, silent,
    // lastSentAt, lastReceivedAt}.
    this.sessionHistory = [];
    // Delivery receipts sent: {time, sessionIndex, messageId, destination, state, form, status}.
    this.receipts = [];
    // (submitRecord) → status number, null to leave the submit_sm unanswered
    // (and not taken), TakeWithoutAnswer, or a Promise of any of these. Null
    // means always ESME_ROK.
    this.submitResponder = null;
    // (acceptedSubmitRecord) → null for no receipt, or {state: 'DELIVRD'|'UNDELIV'|…,
    // form: 'tlv'|'text'|'both', delayMs}; delayMs 0 sends it right behind the submit_sm_resp.
    this.receiptPolicy = null;
  }

  get port() {
    return this.#port;
  }

  // True when serving SMPP over TLS.
  get secure() {
    return this.#tls !== null;
  }

  // Listens on 127.0.0.1, port chosen by the system; resolves the port.
  async start() {
    await this.#listen(0);
    this.#log(`smsc-sim listening on 127.0.0.1:${this.#port}${this.#tls ? ' (TLS)' : ''}`);
    return this.#port;
  }

  async stop() {
    for (const waiter of this.#waiters) {
      waiter.reject(new Error('simulator stopped'));
    }
    this.#waiters.clear();
    this.#refusing = true;
    const server = this.#server;
    this.#server = null;
    for (const entry of this.#sessions.values()) {
      entry.history.closedBy ??= 'sim';
      entry.session.destroy();
    }
    if (server) {
      await new Promise((resolve) => server.close(() => resolve()));
    }
  }

  // Closes every open SMPP connection at once, as a carrier restart would.
  dropConnections() {
    for (const entry of this.#sessions.values()) {
      this.#log(`smsc-sim dropping session ${entry.index}`);
      entry.history.closedBy ??= 'sim';
      entry.session.destroy();
    }
  }

  // true: stop listening (connects get ECONNREFUSED); false: listen again on the same port.
  async refuseConnections(refuse) {
    if (refuse === this.#refusing) {
      return;
    }
    this.#refusing = refuse;
    if (refuse) {
      const server = this.#server;
      this.#server = null;
      // close() stops accepting at once; established sessions live on.
      server?.close();
    } else {
      await this.#listen(this.#port);
    }
  }

  // Sessions currently bound: [{sessionIndex, bindType}].
  boundSessions() {
    return [...this.#sessions.values()]
      .filter((e) => e.bound)
      .map((e) => ({ sessionIndex: e.index, bindType: e.bindType }));
  }

  // Changes what a bind must carry from now on (an operator fixing the account).
  setCredentials({ systemId, password } = {}) {
    if (systemId !== undefined) {
      this.#systemId = systemId;
    }
    if (password !== undefined) {
      this.#password = password;
    }
  }

  // The open sessions stop answering anything (bind, submit_sm, enquire_link,
  // unbind, unknown commands) and stop sending, but keep their sockets open, as
  // a hung SMSC would. Sessions opened later behave normally. Returns the
  // indices silenced (all open sessions, or just `sessionIndex`).
  silence({ sessionIndex } = {}) {
    const silenced = [];
    for (const entry of this.#sessions.values()) {
      if (sessionIndex === undefined || entry.index === sessionIndex) {
        entry.silent = true;
        entry.history.silent = true;
        silenced.push(entry.index);
        this.#log(`smsc-sim session ${entry.index} goes silent`);
      }
    }
    return silenced;
  }

  // Writes `bytes` as they are to a bound session (the first one, or
  // `sessionIndex`): for frames the smpp package cannot build. Returns the
  // session index used.
  sendRaw(bytes, { sessionIndex } = {}) {
    const entry = sessionIndex === undefined
      ? [...this.#sessions.values()].find((e) => e.bound && !e.silent)
      : this.#sessions.get(sessionIndex);
    if (!entry) {
      throw new Error(sessionIndex === undefined ? 'no bound session for sendRaw' : `no session ${sessionIndex}`);
    }
    this.#log(`smsc-sim session ${entry.index} raw write of ${bytes.length} octets`);
    entry.session.socket.write(Buffer.from(bytes));
    return entry.index;
  }

  // Resolves the first response (any command) the daemon sent with `sequence`
  // (on `sessionIndex` when given): a record of `responses`.
  waitForResponse(sequence, { sessionIndex, timeoutMs = 10000 } = {}) {
    return this.#waitUntil(
      () => this.responses.find((r) => r.sequence === sequence &&
        (sessionIndex === undefined || r.sessionIndex === sessionIndex)),
      timeoutMs,
      () => `a response to sequence ${sequence}`,
    );
  }

  // Resolves the sessionHistory record of `sessionIndex` once that session has closed.
  waitForSessionClose(sessionIndex, { timeoutMs = 10000 } = {}) {
    return this.#waitUntil(
      () => this.sessionHistory.find((h) => h.sessionIndex === sessionIndex && h.closedAt !== null),
      timeoutMs,
      () => `session ${sessionIndex} to close`,
    );
  }

  // Resolves the `count`-th successful bind since start (its bindAttempts record).
  waitForBind({ timeoutMs = 10000, count = 1 } = {}) {
    return this.#waitUntil(
      () => this.bindAttempts.filter((a) => a.ok)[count - 1],
      timeoutMs,
      () => `successful bind #${count} (${this.bindAttempts.filter((a) => a.ok).length} so far, ` +
        `${this.bindAttempts.length} attempts)`,
    );
  }

  // Resolves the submits array once it holds at least `n` records.
  waitForSubmits(n, { timeoutMs = 10000 } = {}) {
    return this.#waitUntil(
      () => (this.submits.length >= n ? this.submits : undefined),
      timeoutMs,
      () => `${n} submit_sm (${this.submits.length} so far)`,
    );
  }

  // Whole texts sent to `msisdn` that the simulator accepted, concatenated parts
  // joined (by payload bytes, so a character split across parts survives), in
  // the order their first part arrived: [{text, complete, parts, dataCoding, time}].
  messagesTo(msisdn) {
    const messages = [];
    const groups = new Map();
    for (const s of this.submits) {
      if (s.destination !== msisdn || s.status !== Status.ESME_ROK) {
        continue;
      }
      if (!s.udh || s.udh.total <= 1) {
        messages.push({ text: s.text, complete: true, parts: 1, dataCoding: s.dataCoding, time: s.time });
        continue;
      }
      const key = `${s.source}|${s.udh.refBits}|${s.udh.ref}|${s.udh.total}`;
      let group = groups.get(key);
      if (!group || group.done) {
        group = { parts: new Map(), total: s.udh.total, dataCoding: s.dataCoding, done: false };
        group.message = { text: '', complete: false, parts: 0, dataCoding: s.dataCoding, time: s.time };
        groups.set(key, group);
        messages.push(group.message);
      }
      group.parts.set(s.udh.seq, s.payload);
      group.message.parts = group.parts.size;
      const ordered = [];
      for (let seq = 1; seq <= group.total; seq++) {
        if (group.parts.has(seq)) {
          ordered.push(group.parts.get(seq));
        }
      }
      group.message.text = decodeText(Buffer.concat(ordered), group.dataCoding);
      if (ordered.length === group.total) {
        group.message.complete = true;
        group.done = true;
      }
    }
    return messages;
  }

  // Sends one deliver_sm (an MO from `from`) and resolves {status, sequence}
  // from its deliver_sm_resp. `text` is encoded GSM 03.38 when it fits, else
  // UCS-2; `shortMessage` (a Buffer) goes as it is with `dataCoding` (default 0).
  // `tlvs`: TLVs by the smpp package's names, e.g. {sar_msg_ref_num: 7}.
  // `sourceTon`/`sourceNpi`: the sender's type of number and plan (default 1/1, international).
  // Rejects when no receiver-capable session is bound or no response comes in `timeoutMs`.
  sendMo({ from, to = '1708', text, dataCoding, shortMessage, esmClass = 0, tlvs = {}, sessionIndex,
    sourceTon = 1, sourceNpi = 1, timeoutMs = 10000 } = {}) {
    let body;
    let coding = dataCoding;
    if (shortMessage !== undefined) {
      body = Buffer.from(shortMessage);
      coding ??= 0;
    } else if (typeof text === 'string') {
      if (coding === undefined) {
        coding = gsmFits(text) ? 0x00 : 0x08;
      }
      body = coding === 0x08 ? encodeUcs2(text) : encodeGsm(text);
    } else {
      return Promise.reject(new Error('sendMo needs text or shortMessage'));
    }
    const unknownTlv = Object.keys(tlvs).find((name) => !(name in smpp.tlvs));
    if (unknownTlv) {
      return Promise.reject(new Error(`sendMo: ${unknownTlv} is not a TLV name the smpp package knows`));
    }
    if (body.length > 254) {
      return Promise.reject(new Error(`short_message of ${body.length} octets exceeds 254; use sendMoConcatenated`));
    }
    let entry;
    try {
      entry = this.#pickReceiver(sessionIndex);
    } catch (error) {
      return Promise.reject(error);
    }
    const pdu = new smpp.PDU('deliver_sm', {
      service_type: '',
      source_addr_ton: sourceTon,
      source_addr_npi: sourceNpi,
      source_addr: String(from),
      dest_addr_ton: 0,
      dest_addr_npi: 0,
      destination_addr: String(to),
      esm_class: esmClass,
      data_coding: coding,
      short_message: body,
      ...tlvs,
    });
    this.#log(`smsc-sim deliver_sm from ${maskMsisdn(from)} ` +
      `(${body.length} octets, data_coding ${coding}) on session ${entry.index}`);
    return this.#request(entry, pdu, timeoutMs, 'deliver_sm_resp');
  }

  // Sends `pdu` (a request) on `entry` and resolves {status, sequence} from its
  // response; rejects when the session closes first or after `timeoutMs`.
  #request(entry, pdu, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      let timer = null;
      const sent = entry.session.send(pdu, (resp) => {
        clearTimeout(timer);
        entry.pending.delete(resp.sequence_number);
        resolve({ status: resp.command_status, sequence: resp.sequence_number });
      });
      if (!sent) {
        reject(new Error(`session ${entry.index} is not writable`));
        return;
      }
      const sequence = pdu.sequence_number;
      timer = setTimeout(() => {
        // Forget the callback so a late response is not mistaken for a new one.
        delete entry.session._callbacks[sequence];
        entry.pending.delete(sequence);
        reject(timeoutError(`${what} to sequence ${sequence}`, timeoutMs));
      }, timeoutMs);
      entry.pending.set(sequence, {
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  // Sends a delivery receipt (deliver_sm, esm_class 0x04) for an accepted
  // submit record: `state` is the SMPP 3.4 Appendix B word (DELIVRD, UNDELIV,
  // EXPIRED, …); `form` 'tlv' carries only receipted_message_id +
  // message_state (empty short_message), 'text' only the text form
  // `id:… stat:…`, 'both' the TLVs and the text.
  // Goes on the session the submit came in on when it receives, else on any
  // bound receiver. Resolves the `receipts` record (status of the response).
  async sendReceipt(submit, { state = 'DELIVRD', form = 'both', timeoutMs = 10000 } = {}) {
    if (!submit.messageId) {
      throw new Error('sendReceipt: the submit has no message id (it was not accepted)');
    }
    const stateValue = k_message_states[state];
    if (stateValue === undefined) {
      throw new Error(`sendReceipt: unknown message state ${state}`);
    }
    if (!['tlv', 'text', 'both'].includes(form)) {
      throw new Error(`sendReceipt: form must be 'tlv', 'text' or 'both', not ${form}`);
    }
    let entry = this.#sessions.get(submit.sessionIndex);
    if (!entry || !entry.bound || !entry.receives || entry.silent) {
      entry = this.#pickReceiver();
    }
    const stamp = receiptTimestamp(new Date(submit.time));
    const done = receiptTimestamp(new Date());
    const delivered = state === 'DELIVRD' ? '001' : '000';
    const excerpt = submit.text.slice(0, 20).replace(/[^\x20-\x7e]/g, '.');
    const text = `id:${submit.messageId} sub:001 dlvrd:${delivered} submit date:${stamp} ` +
      `done date:${done} stat:${state} err:${state === 'DELIVRD' ? '000' : '001'} text:${excerpt}`;
    const fields = {
      service_type: '',
      source_addr_ton: submit.destinationTon,
      source_addr_npi: submit.destinationNpi,
      source_addr: submit.destination,
      dest_addr_ton: submit.sourceTon,
      dest_addr_npi: submit.sourceNpi,
      destination_addr: submit.source,
      esm_class: 0x04,
      data_coding: 0,
      short_message: form === 'tlv' ? Buffer.alloc(0) : Buffer.from(text, 'latin1'),
    };
    if (form !== 'text') {
      fields.receipted_message_id = submit.messageId;
      fields.message_state = stateValue;
    }
    const record = {
      time: Date.now(), sessionIndex: entry.index, messageId: submit.messageId, destination: submit.destination,
      state, form, status: null,
    };
    this.receipts.push(record);
    this.#log(`smsc-sim receipt ${state} for ${submit.messageId} to ${maskMsisdn(submit.destination)} ` +
      `(${form}) on session ${entry.index}`);
    const { status } = await this.#request(entry, new smpp.PDU('deliver_sm', fields), timeoutMs, 'deliver_sm_resp');
    record.status = status;
    this.#notify();
    return record;
  }

  // Sends `text` as a concatenated MO: parts with an 8-bit (or 16-bit) reference
  // UDH, in `order` (1-based part numbers; default 1..n). Resolves [{status, sequence}].
  async sendMoConcatenated({ from, to = '1708', text, ref = 0x42, refBits = 8, order, sessionIndex,
    timeoutMs = 10000 } = {}) {
    const gsm = gsmFits(text);
    const udhLength = refBits === 16 ? 7 : 6;
    const parts = [];
    if (gsm) {
      const perPart = 160 - Math.ceil((udhLength * 8) / 7);
      let current = [];
      for (const ch of text) {
        const septets = [...encodeGsm(ch)];
        if (current.length + septets.length > perPart) {
          parts.push(Buffer.from(current));
          current = [];
        }
        current.push(...septets);
      }
      parts.push(Buffer.from(current));
    } else {
      // UTF-16 units per part; a surrogate pair is never split between parts.
      const perPart = Math.floor((140 - udhLength) / 2);
      let current = '';
      for (const ch of text) {
        if (current.length + ch.length > perPart) {
          parts.push(encodeUcs2(current));
          current = '';
        }
        current += ch;
      }
      parts.push(encodeUcs2(current));
    }
    const total = parts.length;
    const sequenceOrder = order ?? parts.map((_, i) => i + 1);
    const results = [];
    for (const seq of sequenceOrder) {
      const udh = refBits === 16
        ? Buffer.from([5, 0x08, 4, (ref >> 8) & 0xff, ref & 0xff, total, seq])
        : Buffer.from([5, 0x00, 3, ref & 0xff, total, seq]);
      results.push(await this.sendMo({
        from, to, sessionIndex, timeoutMs,
        dataCoding: gsm ? 0x00 : 0x08,
        esmClass: 0x40,
        shortMessage: Buffer.concat([udh, parts[seq - 1]]),
      }));
    }
    return results;
  }

  // Sends enquire_link on a session and resolves the response's command_status.
  enquireLink({ sessionIndex, timeoutMs = 5000 } = {}) {
    const entry = sessionIndex === undefined
      ? [...this.#sessions.values()].find((e) => e.bound)
      : this.#sessions.get(sessionIndex);
    if (!entry) {
      return Promise.reject(new Error('no such session'));
    }
    return new Promise((resolve, reject) => {
      const pdu = new smpp.PDU('enquire_link');
      const timer = setTimeout(() => reject(timeoutError('enquire_link_resp', timeoutMs)), timeoutMs);
      entry.session.send(pdu, (resp) => {
        clearTimeout(timer);
        resolve(resp.command_status);
      });
    });
  }

  #pickReceiver(sessionIndex) {
    if (sessionIndex !== undefined) {
      const entry = this.#sessions.get(sessionIndex);
      if (!entry || !entry.bound || !entry.receives || entry.silent) {
        throw new Error(`session ${sessionIndex} is not bound as a receiver`);
      }
      return entry;
    }
    for (const entry of this.#sessions.values()) {
      if (entry.bound && entry.receives && !entry.silent) {
        return entry;
      }
    }
    throw new Error('no session is bound to receive (bind_transceiver or bind_receiver)');
  }

  #listen(port) {
    const accept = (session) => this.#accept(session);
    // With key and cert the package makes a tls.Server; its 'session' comes after the handshake.
    const server = this.#tls
      ? smpp.createServer({ ...this.#tls, handshakeTimeout: 10000 }, accept)
      : smpp.createServer(accept);
    if (this.#tls) {
      server.on('tlsClientError', (error) => {
        this.tlsErrors.push({ time: Date.now(), code: error.code ?? null, message: error.message });
        this.#log(`smsc-sim TLS handshake failed: ${error.message.trim()}`);
        this.#notify();
      });
      // Registered after the package's own listener, so this runs once the session exists.
      server.on('secureConnection', (socket) => {
        this.tlsHandshakes.push({
          time: Date.now(), protocol: socket.getProtocol(), cipher: socket.getCipher()?.name ?? null,
          servername: socket.servername || null,
        });
        this.#notify();
      });
    }
    server.on('error', (error) => this.#log(`smsc-sim server error: ${error.message}`));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        this.#server = server;
        this.#port = server.address().port;
        resolve(this.#port);
      });
    });
  }

  #accept(session) {
    if (this.#refusing) {
      session.destroy();
      return;
    }
    const index = this.#nextSessionIndex++;
    const history = {
      sessionIndex: index, connectedAt: Date.now(), closedAt: null, closedBy: null, bindType: null, silent: false,
      lastSentAt: null, lastReceivedAt: null,
    };
    this.sessionHistory.push(history);
    const entry = {
      session, index, bound: false, bindType: null, receives: false, transmits: false, pending: new Map(),
      silent: false, history,
    };
    this.#sessions.set(index, entry);
    this.connections++;
    this.#log(`smsc-sim session ${index} connected`);

    session.on('send', () => {
      history.lastSentAt = Date.now();
    });
    session.on('error', (error) => {
      // The package stops reading after a parse error; close the session so the peer notices.
      this.protocolErrors.push({ time: Date.now(), sessionIndex: index, error: error.message });
      this.#log(`smsc-sim session ${index} error: ${error.message}`);
      history.closedBy ??= 'sim';
      session.destroy();
    });
    session.on('close', () => {
      history.closedAt = Date.now();
      history.closedBy ??= 'peer';
      this.#sessions.delete(index);
      for (const pending of entry.pending.values()) {
        pending.reject(new Error(`session ${index} closed before the response came`));
      }
      entry.pending.clear();
      this.#log(`smsc-sim session ${index} closed`);
      this.emit('close', { sessionIndex: index });
      this.#notify();
    });

    for (const command of Object.keys(k_bind_commands)) {
      session.on(command, (pdu) => this.#onBind(entry, command, pdu));
    }
    session.on('submit_sm', (pdu) => {
      this.#onSubmit(entry, pdu).catch((error) => {
        this.protocolErrors.push({ time: Date.now(), sessionIndex: index, error: error.message });
      });
    });
    session.on('enquire_link', (pdu) => {
      this.enquireLinks++;
      this.enquireLinkRequests.push({ time: Date.now(), sessionIndex: index, answered: !entry.silent });
      if (!entry.silent) {
        session.send(pdu.response());
      }
      this.#notify();
    });
    session.on('unbind', (pdu) => {
      this.unbinds.push({ time: Date.now(), sessionIndex: index });
      this.#log(`smsc-sim session ${index} unbind${entry.silent ? ' (silent: not answered)' : ''}`);
      if (entry.silent) {
        this.#notify();
        return;
      }
      entry.bound = false;
      session.send(pdu.response(), () => session.close());
      this.#notify();
    });
    session.on('deliver_sm_resp', (pdu) => {
      // Recorded here rather than in sendMo so a late response is counted too.
      const record = {
        time: Date.now(), sessionIndex: index, sequence: pdu.sequence_number, status: pdu.command_status,
      };
      this.deliverResponses.push(record);
      this.emit('deliver_sm_resp', record);
      this.#notify();
    });
    session.on('generic_nack', (pdu) => {
      this.genericNacks.push({
        time: Date.now(), sessionIndex: index, sequence: pdu.sequence_number, status: pdu.command_status,
      });
      this.#notify();
    });
    session.on('unknown', (pdu) => {
      if (!entry.silent) {
        session.send(pdu.response());
      }
    });
    session.on('pdu', (pdu) => {
      history.lastReceivedAt = Date.now();
      if (pdu.isResponse()) {
        const record = {
          time: Date.now(), sessionIndex: index, command: pdu.command, commandId: pdu.command_id,
          sequence: pdu.sequence_number, status: pdu.command_status,
        };
        this.responses.push(record);
        // Waiters on `responses` are notified by the command's own handler or here.
        queueMicrotask(() => this.#notify());
      }
      // Requests the simulator does not serve get generic_nack, as an SMSC would.
      const known = ['submit_sm', 'enquire_link', 'unbind', 'unbind_resp', 'enquire_link_resp',
        'deliver_sm_resp', 'generic_nack', 'unknown', ...Object.keys(k_bind_commands)];
      if (!pdu.isResponse() && !known.includes(pdu.command) && !entry.silent) {
        session.send(new smpp.PDU('generic_nack', {
          sequence_number: pdu.sequence_number, command_status: Status.ESME_RINVCMDID,
        }));
      }
    });
  }

  #onBind(entry, command, pdu) {
    const kind = k_bind_commands[command];
    if (entry.silent) {
      this.bindAttempts.push({
        time: Date.now(), sessionIndex: entry.index, command, systemId: pdu.system_id, ok: false, status: null,
      });
      this.#notify();
      return;
    }
    let status = Status.ESME_ROK;
    if (entry.bound) {
      status = Status.ESME_RALYBND;
    } else if (pdu.system_id !== this.#systemId) {
      status = Status.ESME_RINVSYSID;
    } else if (pdu.password !== this.#password) {
      status = Status.ESME_RINVPASWD;
    }
    const record = {
      time: Date.now(), sessionIndex: entry.index, command, systemId: pdu.system_id, ok: status === 0, status,
    };
    this.bindAttempts.push(record);
    this.#log(`smsc-sim session ${entry.index} ${command} system_id=${pdu.system_id} → status ${status}`);
    if (status !== Status.ESME_ROK) {
      entry.session.send(pdu.response({ command_status: status }));
      this.#notify();
      return;
    }
    entry.bound = true;
    entry.bindType = kind.type;
    entry.history.bindType = kind.type;
    entry.receives = kind.receives;
    entry.transmits = kind.transmits;
    entry.session.send(pdu.response({ system_id: 'smsc-sim' }));
    this.emit('bind', record);
    this.#notify();
  }

  async #onSubmit(entry, pdu) {
    if (entry.silent) {
      this.#log(`smsc-sim session ${entry.index} silent: submit_sm #${pdu.sequence_number} not answered`);
      return;
    }
    if (!entry.bound || !entry.transmits) {
      // A protocol error of the ESME: submit_sm before a bind or on a receiver.
      this.protocolErrors.push({
        time: Date.now(), sessionIndex: entry.index,
        error: `submit_sm on a session ${entry.bound ? `bound as ${entry.bindType}` : 'not bound'}`,
      });
      entry.session.send(pdu.response({ command_status: Status.ESME_RINVBNDSTS }));
      this.#notify();
      return;
    }
    let parsed;
    let content;
    try {
      parsed = parseSubmitSm(pdu.rawBuffer);
      content = messageContent(parsed);
    } catch (error) {
      this.protocolErrors.push({ time: Date.now(), sessionIndex: entry.index, error: `submit_sm: ${error.message}` });
      entry.session.send(pdu.response({ command_status: Status.ESME_RINVMSGLEN }));
      this.#notify();
      return;
    }
    const record = {
      time: Date.now(),
      sessionIndex: entry.index,
      sequence: pdu.sequence_number,
      source: parsed.source,
      sourceTon: parsed.sourceTon,
      sourceNpi: parsed.sourceNpi,
      destination: parsed.destination,
      destinationTon: parsed.destinationTon,
      destinationNpi: parsed.destinationNpi,
      dataCoding: parsed.dataCoding,
      esmClass: parsed.esmClass,
      shortMessage: parsed.shortMessage,
      payload: content.payload,
      text: content.text,
      udh: content.udh,
      registeredDelivery: parsed.registeredDelivery,
      messageId: null,
      status: null,
      // Whether the submit_sm_resp could be written (false: the session was gone by then).
      responded: false,
    };
    this.submits.push(record);
    let status = Status.ESME_ROK;
    if (this.submitResponder) {
      status = await this.submitResponder(record);
    }
    if (status === TakeWithoutAnswer && !entry.silent) {
      // The SMSC keeps the message (and may send its receipt) but the
      // submit_sm_resp is lost on the way: the ESME cannot tell this from a
      // message that never arrived.
      record.status = Status.ESME_ROK;
      record.messageId = `sim${String(this.#nextMessageId++).padStart(8, '0')}`;
      if (this.receiptPolicy) {
        this.#scheduleReceipt(record);
      }
      this.#log(`smsc-sim submit_sm #${pdu.sequence_number} to ${maskMsisdn(record.destination)} ` +
        'taken, its response withheld');
      this.emit('submit_sm', record);
      this.#notify();
      return;
    }
    if (status === null || status === undefined || entry.silent) {
      this.#log(`smsc-sim submit_sm #${pdu.sequence_number} to ${maskMsisdn(record.destination)} left unanswered`);
      this.#notify();
      return;
    }
    // An SMSC takes the message once it decided to accept it, whether or not
    // the response still reaches the ESME.
    record.status = status;
    if (status === Status.ESME_ROK) {
      record.messageId = `sim${String(this.#nextMessageId++).padStart(8, '0')}`;
      record.responded = entry.session.send(pdu.response({ message_id: record.messageId }));
    } else {
      record.responded = entry.session.send(pdu.response({ command_status: status }));
    }
    if (status === Status.ESME_ROK && this.receiptPolicy) {
      this.#scheduleReceipt(record);
    }
    this.#log(`smsc-sim submit_sm #${pdu.sequence_number} to ${maskMsisdn(record.destination)} ` +
      `(data_coding ${record.dataCoding}${record.udh ? `, part ${record.udh.seq}/${record.udh.total}` : ''}) → status ${status}`);
    this.emit('submit_sm', record);
    this.#notify();
  }

  #scheduleReceipt(record) {
    const plan = this.receiptPolicy(record);
    if (!plan) {
      return;
    }
    const send = () => {
      this.sendReceipt(record, plan).catch((error) => {
        this.receipts.push({
          time: Date.now(), sessionIndex: null, messageId: record.messageId, destination: record.destination,
          state: plan.state, form: plan.form, status: null, error: error.message,
        });
        this.#log(`smsc-sim receipt for ${record.messageId} not delivered: ${error.message}`);
        this.#notify();
      });
    };
    if (!plan.delayMs) {
      // Right behind the submit_sm_resp, as an SMSC that knows the outcome at once.
      send();
    } else {
      setTimeout(send, plan.delayMs);
    }
  }

  #waitUntil(check, timeoutMs, describe) {
    const value = check();
    if (value !== undefined) {
      return Promise.resolve(value);
    }
    return new Promise((resolve, reject) => {
      const waiter = { check, resolve, reject };
      waiter.timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(timeoutError(describe(), timeoutMs));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  #notify() {
    for (const waiter of this.#waiters) {
      const value = waiter.check();
      if (value !== undefined) {
        clearTimeout(waiter.timer);
        this.#waiters.delete(waiter);
        waiter.resolve(value);
      }
    }
  }
}
