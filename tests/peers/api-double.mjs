// LAPOR! API double: a real HTTP (or HTTPS) server on 127.0.0.1 that speaks
// both upstream contracts of interfaces.md §4, checks what laporsmsd sends and
// records it.
//
//   POST /api/stream/addstream   lapor-xml: token attribute, XML in, XML out
//   POST /api/v1/reports         rest-json: Bearer token, Idempotency-Key, JSON;
//                                a repeated key gets 409 with the first tracking id
//   GET  /api/v1/status/{id}     rest-json status read-back (see setStatus)
//   POST /kannel/laporyai        for Kannel's smsbox (scripts/bench): an sms-service
//                                post-url, the SMS text as the body, the sender in
//                                X-Kannel-From, ?token= in the URL; the answer is the
//                                reply SMS, text/plain (see kannelUrl)
//
// Every request lands in `requests` with the status it got; accepted reports
// also land in `posts`, with the same fields for both adapters. Fault
// switches: setMode (report POSTs: 503/429 windows, delays past the client's
// timeout, resets mid-response, bodies without a tracking id, a wrong content
// type, 401, 400) and setStatusMode (GET status). With `tls` it serves HTTPS
// with a certificate from a CA made at start-up (caFile).

import { createRequire } from 'node:module';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { XMLParser, XMLValidator } = require('fast-xml-parser');

const k_first_tracking_id = 1916449;
const k_max_body = 1 << 20;
const k_xml_path = '/api/stream/addstream';
const k_json_path = '/api/v1/reports';
const k_status_prefix = '/api/v1/status/';
const k_kannel_path = '/kannel/laporyai';
// The keyword, and a leading RAHASIA/ANONIM, as interfaces.md §3 reads them.
const k_kannel_keyword = /^\s*lapor\s*yai\s*[:\s]?\s*/i;

const k_xml_parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  // Report text is checked byte for byte: keep its blanks and decode every entity.
  trimValues: false,
  processEntities: true,
  htmlEntities: true,
});

function timeoutError(what, ms) {
  const error = new Error(`timed out after ${ms} ms waiting for ${what}`);
  error.code = 'ETIMEDOUT';
  return error;
}

// The text of an element as fast-xml-parser returns it, or null when the
// element is missing, repeated or has child elements.
function elementText(value) {
  if (typeof value === 'string') {
    return value;
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value).filter((k) => !k.startsWith('@_'));
    if (keys.length === 0) {
      return '';
    }
    if (keys.length === 1 && keys[0] === '#text') {
      return String(value['#text']);
    }
  }
  return null;
}

function singleElement(value) {
  return value && typeof value === 'object' && !Array.isArray(value) ? value : null;
}

// {token, telpon, isi, rahasia, anonim} from a lapor-xml body, or {error}.
export function parseLaporXml(body) {
  const valid = XMLValidator.validate(body);
  if (valid !== true) {
    return { error: `malformed XML: ${valid.err.msg} (line ${valid.err.line})` };
  }
  const doc = k_xml_parser.parse(body);
  const roots = Object.keys(doc).filter((k) => k !== '?xml' && k !== '#text');
  if (roots.length !== 1 || roots[0] !== 'lapor') {
    return { error: `root element must be <lapor>, got ${roots.map((r) => `<${r}>`).join(', ') || 'none'}` };
  }
  const lapor = singleElement(doc.lapor);
  if (!lapor) {
    return { error: '<lapor> must have child elements' };
  }
  const token = lapor['@_token'];
  const pelapor = singleElement(lapor.pelapor);
  const laporan = singleElement(lapor.laporan);
  if (!pelapor) {
    return { error: 'exactly one <pelapor> required' };
  }
  if (!laporan) {
    return { error: 'exactly one <laporan> required' };
  }
  const telpon = elementText(pelapor.telpon);
  const isi = elementText(laporan.isi);
  if (telpon === null) {
    return { error: 'exactly one text-only <pelapor><telpon> required' };
  }
  if (isi === null) {
    return { error: 'exactly one text-only <laporan><isi> required' };
  }
  const rahasia = laporan['@_rahasia'];
  const anonim = laporan['@_anonim'];
  for (const [name, flag] of [['rahasia', rahasia], ['anonim', anonim]]) {
    if (flag !== '0' && flag !== '1') {
      return { error: `<laporan ${name}="..."> must be "0" or "1", got ${JSON.stringify(flag)}` };
    }
  }
  return {
    token: token ?? null,
    telpon,
    isi,
    rahasia: rahasia === '1',
    anonim: anonim === '1',
    namadepan: elementText(pelapor.namadepan),
    namabelakang: elementText(pelapor.namabelakang),
  };
}

function xmlEscape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const k_report_modes = Object.freeze([
  'ok', 'unavailable', 'throttled', 'slow', 'late', 'reset', 'no-trackingid', 'wrong-content-type',
  'unauthorized', 'bad-request',
]);
const k_status_modes = Object.freeze(['ok', 'unavailable', 'slow', 'unauthorized']);

const k_ok_fault = Object.freeze({ mode: 'ok', delayMs: 0, until: null, left: null });

function sleepMs(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function runOpenssl(args, cwd) {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30000 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`openssl ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
        return;
      }
      resolve(stdout);
    });
  });
}

// Makes, in `dir`, a test CA (ca.pem, ca.key) and a server certificate it
// signed (server.pem, server.key) for `altNames` (subjectAltName entries such
// as "DNS:localhost", "IP:127.0.0.1"). Resolves the paths. EC P-256 keys: fast
// to make, and accepted at OpenSSL's default security level.
export async function makeTestCertificates(dir, { altNames = ['DNS:localhost', 'IP:127.0.0.1'],
  caName = 'laporsms test CA' } = {}) {
  await mkdir(dir, { recursive: true });
  const file = (name) => path.join(dir, name);
  // Our own config file, so the system's openssl.cnf adds nothing unexpected.
  await writeFile(file('openssl.cnf'), [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    '[dn]',
    'CN = unused',
    '[ca_ext]',
    'basicConstraints = critical,CA:TRUE',
    'keyUsage = critical,keyCertSign,cRLSign',
    'subjectKeyIdentifier = hash',
    '[server_ext]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage = serverAuth',
    `subjectAltName = ${altNames.join(',')}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    '',
  ].join('\n'));
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await runOpenssl(['req', '-x509', '-config', 'openssl.cnf', '-extensions', 'ca_ext', ...key,
    '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${caName}`], dir);
  await runOpenssl(['req', '-new', '-config', 'openssl.cnf', ...key, '-keyout', 'server.key',
    '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  await runOpenssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
    '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', 'openssl.cnf',
    '-extensions', 'server_ext', '-out', 'server.pem'], dir);
  return { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key') };
}

export class ApiDouble extends EventEmitter {
  #token;
  #adapter;
  #tls;
  #keepAliveTimeoutMs;
  #certificates = null;
  #server = null;
  #port = 0;
  #fault = k_ok_fault;
  #statusFault = k_ok_fault;
  #nextTrackingId = k_first_tracking_id;
  #byKey = new Map(); // Idempotency-Key → tracking id
  #statuses = new Map(); // tracking id → {status, note, updated_at}
  #waiters = new Set();
  #sockets = new Set();
  #log;

  // `adapter` chooses what `url` points at; both contracts are always served.
  // `tls`: null serves plain HTTP; {dir} serves HTTPS with a certificate made
  // at start() in `dir` by a fresh test CA (see makeTestCertificates and
  // caFile); {dir, altNames} names what the certificate is valid for, and
  // {urlHost} the host the URLs use (default 127.0.0.1).
  // `keepAliveTimeoutMs`: how long an idle kept-alive connection stays open
  // (node's default, 5 s, when not given).
  constructor({ token = 'test-token', adapter = 'lapor-xml', logger = null, tls = null,
    keepAliveTimeoutMs = null } = {}) {
    super();
    if (adapter !== 'lapor-xml' && adapter !== 'rest-json') {
      throw new Error(`unknown adapter ${adapter}`);
    }
    if (tls !== null && typeof tls?.dir !== 'string') {
      throw new Error('tls needs {dir}: where the test certificates are made');
    }
    this.#token = token;
    this.#adapter = adapter;
    this.#tls = tls;
    this.#keepAliveTimeoutMs = keepAliveTimeoutMs;
    this.#log = typeof logger === 'function' ? logger : (logger?.info ? (l) => logger.info(l) : () => {});
    this.posts = []; // accepted reports
    this.connections = 0; // TCP connections accepted
    // Every request: {time (answered or given up), arrivedAt, method, path, status (null: no
    // complete answer), reason, mode (the fault that shaped the answer), key (Idempotency-Key),
    // telpon (the reporter's number, when the body told it)}.
    this.requests = [];
    this.statusRequests = []; // GET status: {time, trackingId, status}
    this.tlsErrors = []; // HTTPS handshakes that failed: {time, code, message}
  }

  get port() {
    return this.#port;
  }

  get scheme() {
    return this.#tls ? 'https' : 'http';
  }

  get baseUrl() {
    return `${this.scheme}://${this.#tls?.urlHost ?? '127.0.0.1'}:${this.#port}`;
  }

  // The URL for [upstream] url of the configured adapter.
  get url() {
    return this.baseUrl + (this.#adapter === 'lapor-xml' ? k_xml_path : k_json_path);
  }

  // The post-url of Kannel's sms-service for the keyword (scripts/bench):
  // the token rides in the query, as Kannel cannot add a header of its own.
  get kannelUrl() {
    return `${this.baseUrl}${k_kannel_path}?token=${encodeURIComponent(this.#token)}`;
  }

  // The URL for [upstream] status_url (rest-json).
  get statusUrl() {
    return this.baseUrl + k_status_prefix.replace(/\/$/, '');
  }

  get token() {
    return this.#token;
  }

  // The PEM file of the CA that signed the HTTPS certificate (after start()), for [upstream] ca_file.
  get caFile() {
    return this.#certificates?.caFile ?? null;
  }

  // The fault report POSTs meet now (see setMode).
  get mode() {
    return this.#current(this.#fault).mode;
  }

  async start() {
    const handler = (req, res) => {
      this.#handle(req, res).catch((error) => {
        this.#log(`api-double handler error: ${error.stack}`);
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'content-type': 'text/plain' });
        }
        res.end('internal error in the API double\n');
      });
    };
    let server;
    if (this.#tls) {
      this.#certificates = await makeTestCertificates(this.#tls.dir, { altNames: this.#tls.altNames });
      const [key, cert] = await Promise.all([readFile(this.#certificates.keyFile),
        readFile(this.#certificates.certFile)]);
      server = https.createServer({ key, cert }, handler);
      server.on('tlsClientError', (error) => {
        this.tlsErrors.push({ time: Date.now(), code: error.code ?? null, message: error.message });
        this.#log(`api-double TLS handshake failed: ${error.message}`);
      });
    } else {
      server = http.createServer(handler);
    }
    if (this.#keepAliveTimeoutMs !== null) {
      server.keepAliveTimeout = this.#keepAliveTimeoutMs;
    }
    server.on('connection', (socket) => {
      this.connections += 1;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.#port = server.address().port;
    this.#log(`api-double listening on ${this.baseUrl}`);
    return this.#port;
  }

  async stop() {
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('API double stopped'));
    }
    this.#waiters.clear();
    const server = this.#server;
    this.#server = null;
    if (!server) {
      return;
    }
    const closed = new Promise((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) {
      socket.destroy();
    }
    await closed;
  }

  // How report POSTs (both adapters) are answered from now on:
  //   'ok'                  normally
  //   'unavailable'         503 (or `status`, e.g. 502), with Retry-After when `retryAfter` is given
  //   'throttled'           429 with Retry-After (`retryAfter`, default 1 s)
  //   'slow'                normally after `delayMs`; a report whose client left meanwhile is not taken
  //   'late'                the report is taken at once, the answer comes after `delayMs` (past the
  //                         client's timeout: the client never learns its report arrived)
  //   'reset'               the report is taken (unless `accept` is false), then half of the answer
  //                         is sent and the connection is reset (TCP RST)
  //   'no-trackingid'       200 with a well-formed body that has no tracking id; nothing taken
  //   'wrong-content-type'  200 text/html (a proxy's error page); nothing taken
  //   'unauthorized'        401, whatever the token; with `echoToken` the error body repeats the
  //                         token the request carried, as careless APIs do
  //   'bad-request'         400, the request is refused as invalid
  // A request that is itself malformed still gets its 400/401/415 in the modes
  // that take or answer reports ('slow', 'late', 'reset', 'no-trackingid',
  // 'wrong-content-type'). `forMs` ends the fault after that long, `count`
  // after that many report POSTs; either way the mode returns to 'ok'.
  setMode(mode, { delayMs = 0, forMs = null, count = null, status = 503, retryAfter = null,
    accept = true, echoToken = false } = {}) {
    if (!k_report_modes.includes(mode)) {
      throw new Error(`unknown mode ${mode}`);
    }
    this.#fault = this.#makeFault(mode, { delayMs, forMs, count, status, retryAfter, accept, echoToken });
    this.#log(`api-double mode ${mode}${delayMs ? ` (${delayMs} ms)` : ''}` +
      `${forMs !== null ? ` for ${forMs} ms` : ''}${count !== null ? ` for ${count} requests` : ''}`);
  }

  // How GET status is answered from now on: 'ok', 'unavailable' (503), 'slow'
  // (after `delayMs`) or 'unauthorized' (401); `forMs` and `count` as in setMode.
  setStatusMode(mode, { delayMs = 0, forMs = null, count = null } = {}) {
    if (!k_status_modes.includes(mode)) {
      throw new Error(`unknown status mode ${mode}`);
    }
    this.#statusFault = this.#makeFault(mode, { delayMs, forMs, count, status: 503 });
    this.#log(`api-double status mode ${mode}`);
  }

  // What GET status answers for `trackingId` from now on.
  setStatus(trackingId, status, note = '') {
    this.#statuses.set(String(trackingId), { status, note, updated_at: new Date().toISOString() });
    this.#log(`api-double status of ${trackingId} set to ${JSON.stringify(status)}`);
  }

  // What GET status answers for `trackingId` now, or undefined.
  statusOf(trackingId) {
    return this.#statuses.get(String(trackingId));
  }

  // The report POSTs (accepted or not) that carried `telpon` (lapor-xml and
  // rest-json) or Idempotency-Key `key` (rest-json), in order of arrival
  // (`requests` is in order of answer: a late answer comes after later requests).
  requestsFor({ telpon, key } = {}) {
    return this.requests.filter((r) => r.method === 'POST' &&
      ((telpon !== undefined && r.telpon === telpon) || (key !== undefined && r.key === key)))
      .sort((a, b) => a.arrivedAt - b.arrivedAt);
  }

  // Resolves `posts` once it holds at least `n` accepted reports.
  waitForPosts(n, { timeoutMs = 10000 } = {}) {
    if (this.posts.length >= n) {
      return Promise.resolve(this.posts);
    }
    return new Promise((resolve, reject) => {
      const waiter = { n, resolve, reject };
      waiter.timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(timeoutError(`${n} accepted posts (${this.posts.length} so far, ` +
          `${this.requests.length} requests in all)`, timeoutMs));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  #makeFault(mode, { delayMs, forMs, count, status, retryAfter = null, accept = true, echoToken = false }) {
    if (count !== null && !(Number.isInteger(count) && count > 0)) {
      throw new Error(`count must be a positive integer, got ${count}`);
    }
    return Object.freeze({
      mode, delayMs, status, retryAfter, accept, echoToken,
      until: forMs === null ? null : Date.now() + forMs,
      left: count,
    });
  }

  // The fault in force: `fault`, or 'ok' once its window or count is over.
  #current(fault) {
    if (fault.mode !== 'ok' && ((fault.until !== null && Date.now() >= fault.until) || fault.left === 0)) {
      return k_ok_fault;
    }
    return fault;
  }

  // The fault for the request at hand; counts it against the fault's `count`.
  #takeFault(kind) {
    const fault = kind === 'status' ? this.#statusFault : this.#fault;
    const current = this.#current(fault);
    if (current !== fault) {
      this.#log(`api-double ${kind === 'status' ? 'status ' : ''}mode ${fault.mode} over, back to ok`);
    }
    let next = current;
    if (current.left !== null) {
      next = Object.freeze({ ...current, left: current.left - 1 });
    }
    if (kind === 'status') {
      this.#statusFault = next.left === 0 ? k_ok_fault : next;
    } else {
      this.#fault = next.left === 0 ? k_ok_fault : next;
    }
    return current;
  }

  #notify() {
    for (const waiter of this.#waiters) {
      if (this.posts.length >= waiter.n) {
        clearTimeout(waiter.timer);
        this.#waiters.delete(waiter);
        waiter.resolve(this.posts);
      }
    }
  }

  async #readBody(req) {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
      size += chunk.length;
      if (size > k_max_body) {
        return null;
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  #entry(req, status, reason) {
    return {
      time: Date.now(), arrivedAt: req.lapor?.arrivedAt ?? Date.now(), method: req.method, path: req.url,
      status, reason, mode: req.lapor?.mode ?? 'ok', key: req.lapor?.key ?? null,
      telpon: req.lapor?.telpon ?? null,
    };
  }

  // A request that got no complete answer (the client left, or the double reset it).
  #unanswered(req, reason) {
    this.requests.push(this.#entry(req, null, reason));
    this.#log(`api-double ${req.method} ${req.url} → no answer: ${reason}`);
  }

  #answer(req, res, status, contentType, body, reason = null, headers = {}) {
    this.requests.push(this.#entry(req, status, reason));
    if (reason) {
      this.#log(`api-double ${req.method} ${req.url} → ${status}: ${reason}`);
    }
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  }

  #send(req, res, reply) {
    this.#answer(req, res, reply.status, reply.type, reply.body, reply.reason ?? null, reply.headers ?? {});
  }

  // Half of `reply`, then a TCP reset: the client has response bytes and no response.
  #sendHalfAndReset(req, res, reply) {
    const body = Buffer.from(reply.body);
    res.writeHead(reply.status, { 'content-type': reply.type, 'content-length': body.length });
    res.write(body.subarray(0, Math.max(1, Math.floor(body.length / 2))), () => {
      const socket = res.socket ?? req.socket;
      if (socket && typeof socket.resetAndDestroy === 'function' && !this.#tls) {
        socket.resetAndDestroy();
      } else {
        socket?.destroy();
      }
    });
    this.#unanswered(req, `mode reset: reset after ${Math.max(1, Math.floor(body.length / 2))} of ` +
      `${body.length} body bytes of a ${reply.status}`);
  }

  // Who a report POST is about, read leniently: the request log names it even
  // when the body turns out to be invalid.
  #identify(req, url, raw) {
    const info = { arrivedAt: req.lapor.arrivedAt, key: null, telpon: null };
    if (url.pathname === k_json_path) {
      info.key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null;
      try {
        const body = JSON.parse(raw.toString('utf8'));
        info.telpon = typeof body?.msisdn === 'string' ? body.msisdn : null;
      } catch {
        // left null: the body is checked properly later
      }
    } else {
      const parsed = parseLaporXml(raw.toString('utf8'));
      info.telpon = parsed.error ? null : parsed.telpon;
    }
    return info;
  }

  async #handle(req, res) {
    req.lapor = { arrivedAt: Date.now(), mode: 'ok', key: null, telpon: null };
    const url = new URL(req.url, this.baseUrl);
    const raw = await this.#readBody(req);
    if (raw === null) {
      this.#answer(req, res, 413, 'text/plain', 'body too large\n', 'body over 1 MiB');
      req.destroy();
      return;
    }
    if (req.method === 'POST' && (url.pathname === k_xml_path || url.pathname === k_json_path)) {
      Object.assign(req.lapor, this.#identify(req, url, raw));
      await this.#handleReport(req, res, url.pathname === k_xml_path, raw);
      return;
    }
    if (req.method === 'POST' && url.pathname === k_kannel_path) {
      this.#handleKannel(req, res, url, raw);
      return;
    }
    if (req.method === 'GET' && url.pathname.startsWith(k_status_prefix)) {
      await this.#handleStatus(req, res, decodeURIComponent(url.pathname.slice(k_status_prefix.length)));
      return;
    }
    this.#answer(req, res, 404, 'text/plain', 'not found\n', `no route for ${req.method} ${url.pathname}`);
  }

  async #handleReport(req, res, xml, raw) {
    const fault = this.#takeFault('report');
    req.lapor.mode = fault.mode;
    switch (fault.mode) {
      case 'unavailable':
        this.#answer(req, res, fault.status, 'text/plain', 'Service Unavailable\n', 'mode unavailable',
          fault.retryAfter === null ? {} : { 'retry-after': String(fault.retryAfter) });
        return;
      case 'throttled':
        this.#answer(req, res, 429, 'text/plain', 'Too Many Requests\n', 'mode throttled',
          { 'retry-after': String(fault.retryAfter ?? 1) });
        return;
      case 'unauthorized': {
        let presented = null;
        if (fault.echoToken) {
          presented = xml ? (parseLaporXml(raw.toString('utf8')).token ?? null) : this.#bearer(req);
        }
        this.#send(req, res, this.#unauthorizedReply(xml, 'mode unauthorized', presented));
        return;
      }
      case 'bad-request':
        this.#send(req, res, xml
          ? { status: 400, type: 'text/xml', reason: 'mode bad-request',
            body: '<?xml version="1.0" encoding="UTF-8"?><response><error>laporan tidak valid</error></response>' }
          : { status: 400, type: 'application/json', reason: 'mode bad-request',
            body: '{"error":"report refused as invalid"}' });
        return;
      case 'slow':
        await sleepMs(fault.delayMs);
        if (req.socket.destroyed) {
          // The client gave up; a real server would not get to answer either.
          this.#unanswered(req, 'client closed during delay');
          return;
        }
        break;
      default:
        break;
    }
    const checked = xml ? this.#checkXml(req, raw) : this.#checkJson(req, raw);
    if (checked.reply) {
      this.#send(req, res, checked.reply);
      return;
    }
    if (fault.mode === 'no-trackingid') {
      this.#send(req, res, xml
        ? { status: 200, type: 'text/xml', reason: 'mode no-trackingid',
          body: '<?xml version="1.0" encoding="UTF-8"?><response><status>OK</status></response>' }
        : { status: 200, type: 'application/json', reason: 'mode no-trackingid', body: '{"status":"received"}' });
      return;
    }
    if (fault.mode === 'wrong-content-type') {
      this.#send(req, res, { status: 200, type: 'text/html; charset=utf-8', reason: 'mode wrong-content-type',
        body: '<!DOCTYPE html><html><head><title>Pemeliharaan</title></head>' +
          '<body><h1>Situs sedang dalam pemeliharaan</h1></body></html>' });
      return;
    }
    if (fault.mode === 'reset' && !fault.accept) {
      this.#sendHalfAndReset(req, res, { status: 500, type: 'text/plain', body: 'internal server error\n' });
      return;
    }
    const reply = xml ? this.#acceptXml(req, raw, checked.parsed) : this.#acceptJson(req, raw, checked.parsed);
    if (fault.mode === 'reset') {
      this.#sendHalfAndReset(req, res, reply);
      return;
    }
    if (fault.mode === 'late') {
      await sleepMs(fault.delayMs);
      if (req.socket.destroyed) {
        this.#unanswered(req, `mode late: client gone before the ${reply.status} answer`);
        return;
      }
      reply.reason ??= `mode late (${fault.delayMs} ms)`;
    }
    this.#send(req, res, reply);
  }

  // 401; `presented`, when not null, is repeated in the body.
  #unauthorizedReply(xml, reason, presented = null) {
    if (xml) {
      const detail = presented === null ? '' : `: ${xmlEscape(presented)}`;
      return { status: 401, type: 'text/xml', reason,
        body: `<?xml version="1.0" encoding="UTF-8"?><response><error>token tidak valid${detail}</error></response>` };
    }
    const body = presented === null ? { error: 'unauthorized' } : { error: 'unauthorized', token: presented };
    return { status: 401, type: 'application/json', body: JSON.stringify(body), reason };
  }

  // {parsed} for a valid lapor-xml request, else {reply} refusing it.
  #checkXml(req, raw) {
    const type = req.headers['content-type'] ?? '';
    if (!/^text\/xml\s*(;|$)/i.test(type)) {
      return { reply: { status: 415, type: 'text/plain', body: 'expected text/xml\n',
        reason: `content-type ${JSON.stringify(type)}` } };
    }
    const parsed = parseLaporXml(raw.toString('utf8'));
    if (parsed.error) {
      return { reply: { status: 400, type: 'text/plain', body: `${parsed.error}\n`, reason: parsed.error } };
    }
    if (parsed.token !== this.#token) {
      return { reply: this.#unauthorizedReply(true, 'wrong token') };
    }
    return { parsed };
  }

  // Takes a checked lapor-xml report: records it, returns the 200 answer.
  #acceptXml(req, raw, parsed) {
    const trackingId = String(this.#nextTrackingId++);
    const transaksiId = `TRX${trackingId}${String(this.posts.length + 1).padStart(4, '0')}`;
    this.#record(req, {
      adapter: 'lapor-xml', token: parsed.token, telpon: parsed.telpon, isi: parsed.isi,
      rahasia: parsed.rahasia, anonim: parsed.anonim, ref: null, idempotencyKey: null,
      trackingId, transaksiId, raw: raw.toString('utf8'),
    });
    return {
      status: 200, type: 'text/xml',
      body: '<?xml version="1.0" encoding="UTF-8"?><response>' +
        `<trackingid>${xmlEscape(trackingId)}</trackingid><transaksiid>${xmlEscape(transaksiId)}</transaksiid>` +
        '</response>',
    };
  }

  #bearer(req) {
    const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return match ? match[1] : null;
  }

  // {parsed: {token, key, body}} for a valid rest-json request, else {reply} refusing it.
  #checkJson(req, raw) {
    const refuse = (status, body, reason) => ({ reply: { status, type: 'application/json', body, reason } });
    const token = this.#bearer(req);
    if (token !== this.#token) {
      return { reply: this.#unauthorizedReply(false, 'wrong or missing bearer token') };
    }
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      return refuse(415, '{"error":"expected application/json"}',
        `content-type ${JSON.stringify(req.headers['content-type'])}`);
    }
    const key = req.headers['idempotency-key'];
    if (!key) {
      return refuse(400, '{"error":"Idempotency-Key required"}', 'no Idempotency-Key');
    }
    let body;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (error) {
      return refuse(400, '{"error":"malformed JSON"}', `malformed JSON: ${error.message}`);
    }
    const problems = [];
    for (const field of ['ref', 'channel', 'shortcode', 'msisdn', 'text', 'received_at']) {
      if (typeof body?.[field] !== 'string') {
        problems.push(`${field} must be a string`);
      }
    }
    for (const field of ['rahasia', 'anonim']) {
      if (typeof body?.[field] !== 'boolean') {
        problems.push(`${field} must be a boolean`);
      }
    }
    if (problems.length === 0 && body.ref !== key) {
      problems.push(`Idempotency-Key ${JSON.stringify(key)} differs from ref ${JSON.stringify(body.ref)}`);
    }
    if (problems.length) {
      return refuse(400, JSON.stringify({ error: problems.join('; ') }), problems.join('; '));
    }
    return { parsed: { token, key, body } };
  }

  // Takes a checked rest-json report: 409 with the first tracking id for a
  // key seen before, else records it and returns the 201 answer.
  #acceptJson(req, raw, { token, key, body }) {
    if (this.#byKey.has(key)) {
      return { status: 409, type: 'application/json', body: JSON.stringify({ tracking_id: this.#byKey.get(key) }),
        reason: 'duplicate Idempotency-Key' };
    }
    const trackingId = String(this.#nextTrackingId++);
    this.#byKey.set(key, trackingId);
    this.#statuses.set(trackingId, {
      status: 'Belum Terverifikasi', note: '', updated_at: new Date().toISOString(),
    });
    this.#record(req, {
      adapter: 'rest-json', token, telpon: body.msisdn, isi: body.text, rahasia: body.rahasia,
      anonim: body.anonim, ref: body.ref, idempotencyKey: key, receivedAt: body.received_at,
      trackingId, transaksiId: null, raw: raw.toString('utf8'),
    });
    return { status: 201, type: 'application/json', body: JSON.stringify({ tracking_id: trackingId }) };
  }

  async #handleStatus(req, res, trackingId) {
    const fault = this.#takeFault('status');
    req.lapor.mode = fault.mode;
    if (fault.mode === 'slow') {
      await sleepMs(fault.delayMs);
      if (req.socket.destroyed) {
        this.statusRequests.push({ time: Date.now(), trackingId, status: null });
        this.#unanswered(req, 'client closed during delay');
        return;
      }
    }
    if (fault.mode === 'unavailable') {
      this.statusRequests.push({ time: Date.now(), trackingId, status: 503 });
      this.#answer(req, res, 503, 'text/plain', 'Service Unavailable\n', 'status mode unavailable');
      return;
    }
    if (fault.mode === 'unauthorized' || this.#bearer(req) !== this.#token) {
      this.statusRequests.push({ time: Date.now(), trackingId, status: 401 });
      this.#send(req, res, this.#unauthorizedReply(false,
        fault.mode === 'unauthorized' ? 'status mode unauthorized' : 'wrong or missing bearer token'));
      return;
    }
    const status = this.#statuses.get(trackingId);
    this.statusRequests.push({ time: Date.now(), trackingId, status: status ? 200 : 404 });
    if (!status) {
      this.#answer(req, res, 404, 'application/json', '{"error":"not found"}', `unknown tracking id ${trackingId}`);
      return;
    }
    this.#answer(req, res, 200, 'application/json', JSON.stringify({ tracking_id: trackingId, ...status }));
  }

  // A report from Kannel's smsbox (post-url): the body is the whole SMS in the
  // charset its Content-Type names (smsbox sends UTF-8, or UTF-16BE for a
  // UCS-2 SMS it did not recode), the sender is X-Kannel-From (international
  // numbers with a leading +). Taken like a lapor-xml report (same tracking
  // ids, same `posts` record and 'post' event, adapter 'kannel'); the answer,
  // text/plain, is what smsbox sends back as the reply SMS: the `forwarded`
  // reply of interfaces.md §2 with the tracking id in place of the ref.
  // The fault switches (setMode) do not apply here.
  #handleKannel(req, res, url, raw) {
    const from = req.headers['x-kannel-from'] ?? url.searchParams.get('from') ?? '';
    const telpon = from.replace(/^\+/, '');
    req.lapor.telpon = telpon || null;
    const token = url.searchParams.get('token');
    if (token !== this.#token) {
      this.#answer(req, res, 401, 'text/plain', 'token tidak valid\n', 'wrong or missing ?token=');
      return;
    }
    if (!/^\d{5,20}$/.test(telpon)) {
      this.#answer(req, res, 400, 'text/plain', 'no sender\n', `X-Kannel-From ${JSON.stringify(from)}`);
      return;
    }
    const type = req.headers['content-type'] ?? '';
    const charset = (/charset="?([^";]+)"?/i.exec(type)?.[1] ?? 'utf-8').toLowerCase();
    let text;
    if (charset === 'utf-16be' || charset === 'ucs-2') {
      text = Buffer.from(raw).swap16().toString('utf16le');
    } else if (charset === 'iso-8859-1' || charset === 'latin1' || charset === 'windows-1252') {
      text = raw.toString('latin1');
    } else {
      text = raw.toString('utf8');
    }
    let isi = text.replace(k_kannel_keyword, '');
    let rahasia = false;
    let anonim = false;
    const flag = /^(RAHASIA|ANONIM)\s+/i.exec(isi);
    if (flag) {
      rahasia = flag[1].toUpperCase() === 'RAHASIA';
      anonim = !rahasia;
      isi = isi.slice(flag[0].length);
    }
    isi = isi.trim();
    const trackingId = String(this.#nextTrackingId++);
    this.#record(req, {
      adapter: 'kannel', token, telpon, isi, rahasia, anonim, ref: null, idempotencyKey: null,
      trackingId, transaksiId: null, raw: text,
    });
    this.#answer(req, res, 200, 'text/plain; charset=UTF-8',
      `Laporan #${trackingId} sudah masuk LAPOR! dengan Tracking ID #${trackingId}. ` +
      `Pantau: lapor.go.id/pengaduan/${trackingId} atau SMS CEK ${trackingId} ke 1708.`);
  }

  #record(req, fields) {
    const post = { time: Date.now(), ...fields, headers: { ...req.headers } };
    this.posts.push(post);
    this.#log(`api-double accepted report → tracking id ${post.trackingId}`);
    this.emit('post', post);
    this.#notify();
  }
}
