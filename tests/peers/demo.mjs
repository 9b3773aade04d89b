// The demo behind scripts/demo: laporsmsd between the SMSC simulator and the
// LAPOR! API double, a few citizens' SMS, and what came back.
//
//   node tests/peers/demo.mjs [--laporsmsd PATH] [--laporctl PATH] [--keep]
//
// The binaries default to the environment variables LAPORSMSD and LAPORCTL.
// Exits 0 when every citizen got the expected replies, non-zero with the
// reason otherwise. The temporary directory is removed on success, kept on
// failure (or with --keep).

import path from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';

import {
  fillTemplate, k_replies, laporctl, makeWorkdir, startStack, templateRegex, waitFor,
} from '../integration/harness.mjs';

const k_samples = [
  { from: '6281234560001', text: 'LAPORYAI jalan berlubang di Jl. Ahmad Yani' },
  { from: '6285700000002', text: 'laporyai: lampu jalan mati di depan pasar' },
  { from: '6281398760003', text: 'INFO' },
  { from: '6287711110004', text: 'LAPORYAI' },
];

function say(line = '') {
  process.stdout.write(`${line}\n`);
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      laporsmsd: { type: 'string' },
      laporctl: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    say('usage: node tests/peers/demo.mjs [--laporsmsd PATH] [--laporctl PATH] [--keep]');
    process.exit(0);
  }
  if (values.laporsmsd) {
    process.env.LAPORSMSD = path.resolve(values.laporsmsd);
  }
  if (values.laporctl) {
    process.env.LAPORCTL = path.resolve(values.laporctl);
  }
  return values;
}

// The replies each sample should end up with, as predicates on the texts.
function expectedReplies(sample) {
  if (sample.text === 'INFO') {
    return { count: 1, check: (texts) => texts[0] === k_replies.help };
  }
  if (sample.text === 'LAPORYAI') {
    return { count: 1, check: (texts) => texts[0] === k_replies.empty_report };
  }
  return {
    count: 2,
    check: (texts, trackingId) => {
      const match = templateRegex('received').exec(texts[0]);
      return Boolean(match) &&
        texts[1] === fillTemplate('forwarded', { ref: match.groups.ref, tracking_id: trackingId });
    },
  };
}

async function demo(wd) {
  say('Starting the SMSC simulator, the LAPOR! API double and laporsmsd ...');
  const { sim, api, daemon, configPath } = await startStack(wd);
  say(`  SMSC simulator   smpp://127.0.0.1:${sim.port}`);
  say(`  LAPOR! API double ${api.url}`);
  say(`  laporsmsd        pid ${daemon.pid}, bound to the simulator`);
  say(`  config           ${configPath}`);
  say();

  for (const sample of k_samples) {
    say(`${sample.from} sends to 1708: ${JSON.stringify(sample.text)}`);
    const { status } = await sim.sendMo({ from: sample.from, text: sample.text });
    if (status !== 0) {
      throw new Error(`laporsmsd answered the SMS from ${sample.from} with deliver_sm_resp status ${status}`);
    }
  }
  say();
  say('Waiting for the replies ...');
  const reports = k_samples.filter((s) => expectedReplies(s).count === 2).length;
  await api.waitForPosts(reports, { timeoutMs: 30000 });
  await waitFor(() => k_samples.every((s) => sim.messagesTo(s.from).length >= expectedReplies(s).count), {
    timeoutMs: 30000,
    daemon,
    what: () => `the replies (${sim.submits.length} submit_sm so far)`,
  });

  say();
  say('What each citizen received back:');
  const problems = [];
  for (const sample of k_samples) {
    const texts = sim.messagesTo(sample.from).map((m) => m.text);
    say(`  ${sample.from} (sent ${JSON.stringify(sample.text)}):`);
    for (const text of texts) {
      say(`    <- ${text}`);
    }
    const post = api.posts.find((p) => p.telpon === sample.from);
    const expected = expectedReplies(sample);
    if (texts.length !== expected.count || !expected.check(texts, post?.trackingId)) {
      problems.push(`${sample.from} did not get the expected replies`);
    }
  }
  say();
  say('What the LAPOR! API received:');
  for (const post of api.posts) {
    say(`  tracking id ${post.trackingId}: telpon ${post.telpon}, rahasia=${post.rahasia ? 1 : 0}, ` +
      `anonim=${post.anonim ? 1 : 0}, isi ${JSON.stringify(post.isi)}`);
  }
  if (api.posts.length !== reports) {
    problems.push(`the API received ${api.posts.length} reports, expected ${reports}`);
  }
  say();
  say('laporctl status:');
  const status = await laporctl(configPath, ['status']);
  for (const line of status.stdout.trimEnd().split('\n')) {
    say(`  ${line}`);
  }
  if (status.code !== 0) {
    problems.push(`laporctl status exited ${status.code} (not healthy): ${status.stderr.trim()}`);
  }
  say();
  say('Stopping laporsmsd (SIGTERM) ...');
  const exit = await daemon.stop({ timeoutMs: 20000 });
  if (exit.code !== 0) {
    problems.push(`laporsmsd exited with code ${exit.code}${exit.signal ? ` (signal ${exit.signal})` : ''}`);
  }
  if (problems.length) {
    throw new Error(problems.join('; '));
  }
}

async function main() {
  const options = parseOptions();
  const wd = await makeWorkdir('demo');
  wd.keep = options.keep;
  // A hard limit so the demo never hangs, whatever goes wrong.
  const watchdog = setTimeout(() => {
    process.stderr.write('demo: gave up after 120 s\n');
    process.exit(1);
  }, 120000);
  watchdog.unref();
  try {
    await wd.run(demo);
  } catch (error) {
    process.stderr.write(`demo failed: ${error.message}\n`);
    process.exitCode = 1;
    return;
  } finally {
    clearTimeout(watchdog);
  }
  say('Demo finished: every citizen got the expected replies.');
}

await main();
