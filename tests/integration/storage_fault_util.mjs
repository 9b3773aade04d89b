// Judging a storage fault (full disk, locked database, I/O error) by the
// daemon's peers, not only by its database: what the LAPOR! API double was
// sent and what the SMSC simulator was asked to deliver to each citizen.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import { k_ref_pattern, sleep, templateRegex, waitFor } from './harness.mjs';

export const k_temporary_app_error = 0x64;

// Runs a command the disk tests need root for (mount, losetup, mkfs,
// fsfreeze); resolves its stdout, or fails saying what the test needs.
export function runAsRoot(command, args) {
  try {
    return execFileSync(command, args, { stdio: 'pipe' }).toString().trim();
  } catch (error) {
    throw new Error(`${command} ${args.join(' ')} failed (this test needs root, loop devices and ` +
      `mkfs.ext2): ${error.stderr?.toString().trim() || error.message}`);
  }
}

// The same for a cleanup step whose target may already be gone.
export function quietly(command, args) {
  try {
    execFileSync(command, args, { stdio: 'pipe' });
  } catch {
    // Already gone.
  }
}

// The replies a citizen who sent one LAPORYAI report gets once it is
// forwarded: `received` with its ref, then `forwarded` with the same ref and
// the API's tracking id.
const k_received = templateRegex('received');
const k_forwarded = templateRegex('forwarded');

// Sends the MO `mo` ({from, text}) until it is acknowledged, as an SMSC
// redelivers one answered with a temporary error; at most `attempts` times,
// `pauseMs` apart. Resolves the statuses seen, the last one ESME_ROK.
export async function redeliverUntilStored(sim, mo, { attempts = 30, pauseMs = 200 } = {}) {
  const statuses = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    const { status } = await sim.sendMo({ from: mo.from, text: mo.text, timeoutMs: 10000 });
    statuses.push(status);
    if (status === 0) {
      return statuses;
    }
    assert.equal(status, k_temporary_app_error,
      `redelivering the MO from ${mo.from}: a temporary error or success, not 0x${status.toString(16)}`);
    await sleep(pauseMs);
  }
  assert.fail(`the MO from ${mo.from} is still refused after ${attempts} redeliveries: ${statuses.join(', ')}`);
  return statuses;
}

// The citizens (numbers) the SMSC was asked to send anything to.
export function numbersWithReplies(sim) {
  return new Set(sim.submits.map((s) => s.destination));
}

// Asserts that none of `numbers` has been sent a reply yet.
export function assertNoReplies(sim, numbers, why) {
  const replied = numbersWithReplies(sim);
  const wrong = [...numbers].filter((n) => replied.has(n));
  assert.deepEqual(wrong, [], `no reply to ${wrong.length} citizen(s) ${why}: ${wrong.slice(0, 5).join(', ')}`);
}

// Waits until every acknowledged MO in `stored` (msisdn → report text, one
// LAPORYAI report per number) is at the API and its citizen has both replies,
// lets `settleMs` pass for anything sent twice to show, then asserts:
//  - the API got each report exactly once, with the citizen's number, and
//    nothing else;
//  - each citizen got exactly one `received` and one `forwarded`, same ref,
//    the tracking id the API gave;
//  - nobody outside `stored` got a reply.
// Resolves {posts, refs (msisdn → ref), outOfOrder (the numbers that heard
// `forwarded` before `received`)}.
export async function judgeByPeers({ sim, api, daemon, stored, timeoutMs = 60000, settleMs = 1500 }) {
  const wanted = [...stored.keys()];
  const complete = () => {
    const texts = new Set(api.posts.map((p) => p.isi));
    const missingPosts = [...stored.values()].filter((t) => !texts.has(t)).length;
    const missingReplies = wanted.filter((n) => sim.messagesTo(n).filter((m) => m.complete).length < 2).length;
    return { missingPosts, missingReplies };
  };
  await waitFor(() => {
    const { missingPosts, missingReplies } = complete();
    return missingPosts === 0 && missingReplies === 0;
  }, {
    timeoutMs, daemon, intervalMs: 200,
    what: () => {
      const { missingPosts, missingReplies } = complete();
      return `${stored.size} reports at the API and both replies to each citizen ` +
        `(${missingPosts} reports and ${missingReplies} citizens' replies missing)`;
    },
  });
  await sleep(settleMs);

  const postsByText = new Map();
  for (const post of api.posts) {
    const list = postsByText.get(post.isi) ?? [];
    list.push(post);
    postsByText.set(post.isi, list);
  }
  const twice = [...postsByText.values()].filter((l) => l.length > 1);
  assert.equal(twice.length, 0, `the API got ${twice.length} report(s) more than once, e.g. ` +
    `${twice[0]?.[0]?.telpon} ×${twice[0]?.length}`);
  assert.equal(api.posts.length, stored.size, 'the API got one report per acknowledged MO, nothing else');

  const refs = new Map();
  const outOfOrder = [];
  for (const [number, text] of stored) {
    const post = postsByText.get(text)?.[0];
    assert.ok(post, `report of ${number} at the API`);
    assert.equal(post.telpon, number, `the API's report "${text.slice(0, 30)}…" names its citizen`);
    const messages = sim.messagesTo(number);
    const receivedAt = messages.findIndex((m) => k_received.test(m.text));
    const forwardedAt = messages.findIndex((m) => k_forwarded.test(m.text));
    assert.ok(messages.length === 2 && receivedAt >= 0 && forwardedAt >= 0,
      `${number} got exactly two replies, one "received" and one "forwarded", got ${messages.length}: ` +
      `${messages.map((m) => JSON.stringify(m.text.slice(0, 40))).join(', ')}`);
    const received = k_received.exec(messages[receivedAt].text);
    const forwarded = k_forwarded.exec(messages[forwardedAt].text);
    if (forwardedAt < receivedAt) {
      outOfOrder.push(number);
    }
    assert.equal(forwarded.groups.ref, received.groups.ref, `${number}: one ref in both replies`);
    assert.match(received.groups.ref, new RegExp(`^${k_ref_pattern}$`));
    assert.equal(forwarded.groups.tracking_id, post.trackingId, `${number}: the API's tracking id`);
    refs.set(number, received.groups.ref);
  }
  const strangers = [...numbersWithReplies(sim)].filter((n) => !stored.has(n));
  assert.deepEqual(strangers, [], 'no reply to a number whose MO was never acknowledged');
  return { posts: api.posts, refs, outOfOrder };
}

// The daemon's error and warning lines from line index `from` on.
export function complaintsSince(daemon, from) {
  return daemon.lines.slice(from).filter((line) => /^\S+ (error|warning) /.test(line));
}

// The messages logged more than once among `lines` (timestamps dropped, and
// what varies within one message: reply ids, refs, numbers, durations).
export function repeatedMessages(lines) {
  const counts = new Map();
  for (const line of lines) {
    const message = line.replace(/^\S+ /, '').replace(/\b(reply|MTR)\s?[0-9A-Z]+/g, '$1 N')
      .replace(/\d+/g, 'N');
    counts.set(message, (counts.get(message) ?? 0) + 1);
  }
  return [...counts].filter(([, n]) => n > 1).map(([message, n]) => `${n}× ${message}`);
}
