// contrib/prometheus/alerts.yml and contrib/grafana/laporsms.json: both
// parse, have the shape Prometheus and Grafana load, and every metric and
// label they name exists in a real scrape of laporsmsd. (promtool is not
// installed by scripts/install-deps: Debian's `prometheus` package is 96 MB
// installed and its postinst starts a Prometheus server; where promtool is
// present, `promtool check rules` runs as well.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildPdu, encodeGsm, Status } from '../peers/smsc-sim.mjs';
import { freePort, makeWorkdir, startStack, waitFor } from './harness.mjs';
import { scrape } from './metrics_util.mjs';

const require = createRequire(new URL('../peers/package.json', import.meta.url));
const YAML = require('yaml');

const k_root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const k_alerts = path.join(k_root, 'contrib', 'prometheus', 'alerts.yml');
const k_dashboard = path.join(k_root, 'contrib', 'grafana', 'laporsms.json');

// Metrics from elsewhere the files may name: Prometheus' own `up`, and
// node_exporter's filesystem metrics for the disk.
const k_foreign = new Set(['up', 'node_filesystem_avail_bytes', 'node_filesystem_size_bytes']);
const k_promql_words = new Set(['by', 'without', 'on', 'ignoring', 'and', 'or', 'unless', 'bool',
  'group_left', 'group_right', 'offset', 'inf', 'nan']);

// The metrics an expression selects: [{name, labels: [label names matched]}].
export function selectorsOf(expr) {
  let text = expr.replace(/\$\{?\w+\}?/g, 'X'); // Grafana variables
  const selectors = [];
  // A selector: a name and optionally its {matchers}.
  const re = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?/g;
  // Strings, ranges and grouping clauses name no metric.
  text = text.replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  for (const m of text.matchAll(re)) {
    const [, name, matchers] = m;
    const after = text.slice(m.index + m[0].length).trimStart();
    const before = text.slice(0, m.index);
    if (/"[^"]*$/.test(before.replace(/"[^"]*"/g, ''))) {
      continue; // inside a string
    }
    if (after.startsWith('(') || k_promql_words.has(name) || /^\d/.test(name)) {
      continue; // a function or a keyword
    }
    if (/[{,]\s*$/.test(before) || /^\s*(=~|!~|!=|=(?!=))/.test(after)) {
      continue; // a label name inside matchers
    }
    const labels = matchers
      ? [...matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"/g)].map((x) => x[1]) : [];
    selectors.push({ name, labels });
  }
  return selectors;
}

function run(bin, args) {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 30000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr, missing: error?.code === 'ENOENT' });
    });
  });
}

function cstring(text) {
  return Buffer.concat([Buffer.from(text, 'latin1'), Buffer.from([0])]);
}

test('selectorsOf finds the metrics and their matched labels, not functions or labels', () => {
  assert.deepEqual(selectorsOf('sum by (le, link) (rate(laporsms_x_bucket{job="$job",state!~"a|b"}[5m])) / ' +
    'up{job="laporsms"} == 0 and on() laporsms_y'), [
    { name: 'laporsms_x_bucket', labels: ['job', 'state'] },
    { name: 'up', labels: ['job'] },
    { name: 'laporsms_y', labels: [] },
  ]);
});

test('alerts.yml and the Grafana dashboard name only metrics a real scrape has', { timeout: 60000 }, async (t) => {
  const rules = YAML.parse(await readFile(k_alerts, 'utf8'));
  const dashboard = JSON.parse(await readFile(k_dashboard, 'utf8'));

  // The rule file's shape (what promtool check rules checks first).
  assert.ok(Array.isArray(rules.groups) && rules.groups.length > 0, 'alerts.yml has groups');
  const alerts = [];
  for (const group of rules.groups) {
    assert.equal(typeof group.name, 'string');
    assert.ok(Array.isArray(group.rules) && group.rules.length > 0, `group ${group.name} has rules`);
    for (const rule of group.rules) {
      assert.match(rule.alert, /^[A-Za-z][A-Za-z0-9_]*$/, 'an alert name');
      assert.equal(typeof rule.expr, 'string', `${rule.alert}: an expr`);
      if (rule.for !== undefined) {
        assert.match(rule.for, /^\d+[smhdwy]$/, `${rule.alert}: for is a duration`);
      }
      assert.ok(['critical', 'warning'].includes(rule.labels?.severity), `${rule.alert}: a severity`);
      assert.equal(typeof rule.annotations?.summary, 'string', `${rule.alert}: a summary`);
      const allowed = new Set(['alert', 'expr', 'for', 'labels', 'annotations', 'keep_firing_for']);
      assert.deepEqual(Object.keys(rule).filter((k) => !allowed.has(k)), [], `${rule.alert}: known keys only`);
      alerts.push(rule);
    }
  }
  const names = alerts.map((a) => a.alert);
  assert.equal(new Set(names).size, names.length, 'alert names are unique');
  // What issue 13 asks them to cover.
  const exprOf = (alert) => alerts.find((a) => a.alert === alert)?.expr ?? '';
  assert.match(exprOf('LaporsmsLinkDown'), /laporsms_link_state/);
  assert.match(exprOf('LaporsmsOldestUnforwardedTooOld'), /laporsms_oldest_unforwarded_age_seconds/);
  assert.match(exprOf('LaporsmsUpstreamAuthError'), /auth_error/);
  assert.match(exprOf('LaporsmsFailedReports'), /laporsms_reports\{state="failed"\}/);
  assert.match(exprOf('LaporsmsDiskNearlyFull'), /node_filesystem_avail_bytes/);

  // The dashboard's shape.
  assert.equal(dashboard.uid, 'laporsms');
  assert.ok(Array.isArray(dashboard.panels) && dashboard.panels.length >= 10, 'the dashboard has panels');
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const panelExprs = [];
  for (const panel of dashboard.panels) {
    assert.ok(panel.title && panel.type && panel.gridPos, `panel ${panel.id} has a title, type and place`);
    assert.ok(panel.targets?.length > 0, `panel ${panel.title} queries something`);
    for (const target of panel.targets) {
      panelExprs.push({ where: `panel "${panel.title}"`, expr: target.expr });
    }
  }

  // A real scrape, with a refused deliver_sm so that family has a series.
  const wd = await makeWorkdir('contrib_monitoring');
  await wd.run(async () => {
    const port = await freePort();
    const { sim, daemon } = await startStack(wd, { config: { metrics: { listen: `127.0.0.1:${port}` } } });
    const message = encodeGsm('INFO');
    const body = Buffer.concat([
      cstring(''), Buffer.from([1, 1]), cstring('6281290008888'), Buffer.from([0, 0]), cstring('1708'),
      Buffer.from([0, 0, 0]), cstring(''), cstring(''), Buffer.from([0, 0, 0, 0]),
      Buffer.from([message.length]), message, Buffer.from([0x04, 0x24, 0x01, 0x2c, 0x41, 0x42]),
    ]);
    sim.sendRaw(buildPdu({ commandId: 0x00000005, sequence: 0x52000001, body }));
    await sim.waitForResponse(0x52000001);
    // An MO whose reply is throttled once, then taken with a receipt: the
    // MO, submit_sm refusal and receipt families get their series.
    let refusals = 0;
    sim.submitResponder = () => (refusals++ === 0 ? Status.ESME_RTHROTTLED : Status.ESME_ROK);
    sim.receiptPolicy = () => ({ state: 'DELIVRD', form: 'tlv', delayMs: 0 });
    assert.equal((await sim.sendMo({ from: '6281290008887', text: 'INFO' })).status, 0);
    await waitFor(() => sim.receipts.some((r) => r.status !== null), {
      timeoutMs: 15000, daemon, what: 'the help reply and its receipt',
    });
    const { status, samples, types } = await scrape(`http://127.0.0.1:${port}/metrics`);
    assert.equal(status, 200);
    const labelsOf = new Map();
    for (const s of samples) {
      if (!labelsOf.has(s.name)) {
        labelsOf.set(s.name, new Set());
      }
      for (const label of Object.keys(s.labels)) {
        labelsOf.get(s.name).add(label);
      }
    }
    const used = [...alerts.map((a) => ({ where: `alert ${a.alert}`, expr: a.expr })), ...panelExprs];
    let checked = 0;
    for (const { where, expr } of used) {
      const selectors = selectorsOf(expr);
      assert.ok(selectors.length > 0, `${where} selects a metric: ${expr}`);
      for (const { name, labels } of selectors) {
        if (k_foreign.has(name)) {
          continue;
        }
        assert.ok(labelsOf.has(name), `${where}: ${name} is in a scrape of laporsmsd`);
        for (const label of labels) {
          // job and instance are the labels Prometheus adds to every target.
          if (label === 'job' || label === 'instance') {
            continue;
          }
          assert.ok(labelsOf.get(name).has(label), `${where}: ${name} has a label ${label}`);
        }
        checked++;
      }
    }
    assert.ok(checked >= 30, `every selector was checked (${checked})`);
    assert.ok(types.size >= 20, 'the scrape has the families');
    await daemon.stop();
  });

  const promtool = await run('promtool', ['check', 'rules', k_alerts]);
  if (promtool.missing) {
    t.diagnostic('promtool is not installed: alerts.yml was checked by parsing alone');
  } else {
    assert.equal(promtool.code, 0, `promtool check rules: ${promtool.stdout}${promtool.stderr}`);
  }
});
