// Reading laporsmsd's Prometheus endpoint in tests: one request per
// connection (no keep-alive pool holding the server's few client slots), and
// a parser of the text exposition format 0.0.4 strict enough to catch a
// malformed line.

import http from 'node:http';

// GET (or `method`) `url` on a connection of its own. Resolves {status,
// headers, contentType, text, samples, types}; samples and types as
// parseExposition's (empty unless 200).
export function scrape(url, { method = 'GET', timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: { connection: 'close' } }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const parsed = res.statusCode === 200 ? parseExposition(text) : { samples: [], types: new Map() };
        resolve({
          status: res.statusCode, headers: res.headers, contentType: res.headers['content-type'], text,
          ...parsed,
        });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

const k_name = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function parseLabels(text, line) {
  const labels = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    const name = text.slice(i, eq);
    if (eq < 0 || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) || text[eq + 1] !== '"') {
      throw new Error(`bad label in: ${line}`);
    }
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const next = text[++j];
        if (next === 'n') {
          value += '\n';
        } else if (next === '\\' || next === '"') {
          value += next;
        } else {
          throw new Error(`bad escape in: ${line}`);
        }
      } else {
        value += text[j];
      }
    }
    if (j >= text.length) {
      throw new Error(`unterminated label value in: ${line}`);
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') {
      i++;
    } else if (i < text.length) {
      throw new Error(`bad label separator in: ${line}`);
    }
  }
  return labels;
}

function parseValue(text, line) {
  if (text === '+Inf') {
    return Infinity;
  }
  if (text === '-Inf') {
    return -Infinity;
  }
  if (text === 'NaN') {
    return NaN;
  }
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) {
    throw new Error(`bad value in: ${line}`);
  }
  return value;
}

// {samples: [{name, family, labels, value}], types: Map(family → type),
// help: Map(family → text)}. Throws on a line the format does not allow, a
// sample before its TYPE, or a family declared twice.
export function parseExposition(text) {
  const samples = [];
  const types = new Map();
  const help = new Map();
  if (text.length > 0 && !text.endsWith('\n')) {
    throw new Error('the exposition does not end with a newline');
  }
  for (const line of text.split('\n')) {
    if (line === '') {
      continue;
    }
    let m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m) {
      if (help.has(m[1])) {
        throw new Error(`HELP for ${m[1]} twice`);
      }
      help.set(m[1], m[2].replace(/\\n/g, '\n').replace(/\\\\/g, '\\'));
      continue;
    }
    m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      if (types.has(m[1])) {
        throw new Error(`TYPE for ${m[1]} twice`);
      }
      types.set(m[1], m[2]);
      continue;
    }
    if (line.startsWith('#')) {
      continue; // a comment
    }
    m = /^([^{\s]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || !k_name.test(m[1])) {
      throw new Error(`not a sample line: ${line}`);
    }
    const name = m[1];
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const family = types.get(base) === 'histogram' && base !== name ? base : name;
    if (!types.has(family)) {
      throw new Error(`sample ${name} before its TYPE line`);
    }
    samples.push({ name, family, labels: m[2] ? parseLabels(m[2], line) : {}, value: parseValue(m[3], line) });
  }
  return { samples, types, help };
}

function sameLabels(a, b) {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

// The value of the sample `name` with exactly `labels`, or undefined.
export function sampleValue(samples, name, labels = {}) {
  return samples.find((s) => s.name === name && sameLabels(s.labels, labels))?.value;
}

// Every sample named `name`.
export function samplesOf(samples, name) {
  return samples.filter((s) => s.name === name);
}
