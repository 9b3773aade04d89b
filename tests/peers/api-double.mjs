// LAPOR! API double: a real HTTP server on 127.0.0.1 that speaks both upstream
// contracts of interfaces.md §4, checks what laporsmsd sends and records it.
//
//   POST /api/stream/addstream   lapor-xml: token attribute, XML in, XML out
//   POST /api/v1/reports         rest-json: Bearer token, Idempotency-Key, JSON
//   GET  /api/v1/status/{id}     rest-json status read-back (see setStatus)
//
// Every request lands in `requests` with the status it got; accepted reports
// also land in `posts`, with the same fields for both adapters.

import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';
import http from 'node:http';

const require = createRequire(import.meta.url);
const { XMLParser, XMLValidator } = require('fast-xml-parser');

const k_first_tracking_id = 1916449;
const k_max_body = 1 << 20;
const k_xml_path = '/api/stream/addstream';
const k_json_path = '/api/v1/reports';
const k_status_prefix = '/api/v1/status/';

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

export class ApiDouble extends EventEmitter {
  #token;
  #adapter;
  #server = null;
  #port = 0;
  #mode = 'ok';
  #delayMs = 0;
  #nextTrackingId = k_first_tracking_id;
  #byKey = new Map(); // Idempotency-Key → tracking id
  #statuses = new Map(); // tracking id → {status, note, updated_at}
  #waiters = new Set();
  #sockets = new Set();
  #log;

  // `adapter` chooses what `url` points at; both contracts are always served.
  constructor({ token = 'test-token', adapter = 'lapor-xml', logger = null } = {}) {
    super();
    if (adapter !== 'lapor-xml' && adapter !== 'rest-json') {
      throw new Error(`unknown adapter ${adapter}`);
    }
    this.#token = token;
    this.#adapter = adapter;
    this.#log = typeof logger === 'function' ? logger : (logger?.info ? (l) => logger.info(l) : () => {});
    this.posts = []; // accepted reports
    this.requests = []; // every request: {time, method, path, status, reason}
    this.statusRequests = []; // GET status: {time, trackingId, status}
  }

  get port() {
    return this.#port;
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.#port}`;
  }

  // The URL for [upstream] url of the configured adapter.
  get url() {
    return this.baseUrl + (this.#adapter === 'lapor-xml' ? k_xml_path : k_json_path);
  }

  // The URL for [upstream] status_url (rest-json).
  get statusUrl() {
    return this.baseUrl + k_status_prefix.replace(/\/$/, '');
  }

  get token() {
    return this.#token;
  }

  async start() {
    const server = http.createServer((req, res) => {
      this.#handle(req, res).catch((error) => {
        this.#log(`api-double handler error: ${error.stack}`);
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain' });
        }
        res.end('internal error in the API double\n');
      });
    });
    server.on('connection', (socket) => {
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

  // 'ok' answers normally, 'unavailable' answers every report POST with 503,
  // 'slow' answers normally after `delayMs`.
  setMode(mode, { delayMs = 0 } = {}) {
    if (!['ok', 'unavailable', 'slow'].includes(mode)) {
      throw new Error(`unknown mode ${mode}`);
    }
    this.#mode = mode;
    this.#delayMs = delayMs;
    this.#log(`api-double mode ${mode}${mode === 'slow' ? ` (${delayMs} ms)` : ''}`);
  }

  // What GET status answers for `trackingId` from now on.
  setStatus(trackingId, status, note = '') {
    this.#statuses.set(String(trackingId), { status, note, updated_at: new Date().toISOString() });
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

  #answer(req, res, status, contentType, body, reason = null) {
    this.requests.push({ time: Date.now(), method: req.method, path: req.url, status, reason });
    if (reason) {
      this.#log(`api-double ${req.method} ${req.url} → ${status}: ${reason}`);
    }
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  async #handle(req, res) {
    const url = new URL(req.url, this.baseUrl);
    const raw = await this.#readBody(req);
    if (raw === null) {
      this.#answer(req, res, 413, 'text/plain', 'body too large\n', 'body over 1 MiB');
      req.destroy();
      return;
    }
    if (req.method === 'POST' && (url.pathname === k_xml_path || url.pathname === k_json_path)) {
      if (this.#mode === 'unavailable') {
        this.#answer(req, res, 503, 'text/plain', 'Service Unavailable\n', 'mode unavailable');
        return;
      }
      if (this.#mode === 'slow') {
        await new Promise((resolve) => setTimeout(resolve, this.#delayMs));
        if (req.socket.destroyed) {
          // The client gave up; a real server would not get to answer either.
          this.requests.push({ time: Date.now(), method: req.method, path: req.url, status: null,
            reason: 'client closed during delay' });
          return;
        }
      }
      if (url.pathname === k_xml_path) {
        this.#handleXml(req, res, raw);
      } else {
        this.#handleJson(req, res, raw);
      }
      return;
    }
    if (req.method === 'GET' && url.pathname.startsWith(k_status_prefix)) {
      this.#handleStatus(req, res, decodeURIComponent(url.pathname.slice(k_status_prefix.length)));
      return;
    }
    this.#answer(req, res, 404, 'text/plain', 'not found\n', `no route for ${req.method} ${url.pathname}`);
  }

  #handleXml(req, res, raw) {
    const type = req.headers['content-type'] ?? '';
    if (!/^text\/xml\s*(;|$)/i.test(type)) {
      this.#answer(req, res, 415, 'text/plain', 'expected text/xml\n', `content-type ${JSON.stringify(type)}`);
      return;
    }
    const parsed = parseLaporXml(raw.toString('utf8'));
    if (parsed.error) {
      this.#answer(req, res, 400, 'text/plain', `${parsed.error}\n`, parsed.error);
      return;
    }
    if (parsed.token !== this.#token) {
      this.#answer(req, res, 401, 'text/xml',
        '<?xml version="1.0" encoding="UTF-8"?><response><error>token tidak valid</error></response>',
        'wrong token');
      return;
    }
    const trackingId = String(this.#nextTrackingId++);
    const transaksiId = `TRX${trackingId}${String(this.posts.length + 1).padStart(4, '0')}`;
    this.#record(req, {
      adapter: 'lapor-xml', token: parsed.token, telpon: parsed.telpon, isi: parsed.isi,
      rahasia: parsed.rahasia, anonim: parsed.anonim, ref: null, idempotencyKey: null,
      trackingId, transaksiId, raw: raw.toString('utf8'),
    });
    this.#answer(req, res, 200, 'text/xml',
      '<?xml version="1.0" encoding="UTF-8"?><response>' +
      `<trackingid>${xmlEscape(trackingId)}</trackingid><transaksiid>${xmlEscape(transaksiId)}</transaksiid>` +
      '</response>');
  }

  #bearer(req) {
    const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return match ? match[1] : null;
  }

  #handleJson(req, res, raw) {
    const token = this.#bearer(req);
    if (token !== this.#token) {
      this.#answer(req, res, 401, 'application/json', '{"error":"unauthorized"}', 'wrong or missing bearer token');
      return;
    }
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      this.#answer(req, res, 415, 'application/json', '{"error":"expected application/json"}',
        `content-type ${JSON.stringify(req.headers['content-type'])}`);
      return;
    }
    const key = req.headers['idempotency-key'];
    if (!key) {
      this.#answer(req, res, 400, 'application/json', '{"error":"Idempotency-Key required"}', 'no Idempotency-Key');
      return;
    }
    let body;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (error) {
      this.#answer(req, res, 400, 'application/json', '{"error":"malformed JSON"}', `malformed JSON: ${error.message}`);
      return;
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
      this.#answer(req, res, 400, 'application/json', JSON.stringify({ error: problems.join('; ') }), problems.join('; '));
      return;
    }
    if (this.#byKey.has(key)) {
      this.#answer(req, res, 409, 'application/json', JSON.stringify({ tracking_id: this.#byKey.get(key) }),
        'duplicate Idempotency-Key');
      return;
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
    this.#answer(req, res, 201, 'application/json', JSON.stringify({ tracking_id: trackingId }));
  }

  #handleStatus(req, res, trackingId) {
    if (this.#bearer(req) !== this.#token) {
      this.#answer(req, res, 401, 'application/json', '{"error":"unauthorized"}', 'wrong or missing bearer token');
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

  #record(req, fields) {
    const post = { time: Date.now(), ...fields, headers: { ...req.headers } };
    this.posts.push(post);
    this.#log(`api-double accepted report → tracking id ${post.trackingId}`);
    this.emit('post', post);
    this.#notify();
  }
}
