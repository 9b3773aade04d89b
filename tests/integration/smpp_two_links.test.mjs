// Two carriers, two [[smsc]] links ("tsel" and "isat"), each against its own
// SMSC simulator. A reply leaves through the link its MO came in on; while
// that link is down it waits (other links carry on), and goes out once the
// link is back; with `fallback = "tsel"` on isat, isat's replies leave
// through tsel while isat is down.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { fillTemplate, laporctl, makeWorkdir, sleep, startLinks, templateRegex, waitFor } from './harness.mjs';

function tselNumber(i) {
  return `62811100000${String(i).padStart(2, '0')}`;
}

function isatNumber(i) {
  return `62815500000${String(i).padStart(2, '0')}`;
}

function reportText(i) {
  return `genangan air setinggi lutut di perempatan nomor ${i} setiap hujan`;
}

async function linkState(configPath, name) {
  const status = await laporctl(configPath, ['--json', 'status']);
  return status.json.links.find((l) => l.name === name)?.state;
}

// Takes link `name`'s SMSC away (connection dropped, connections refused)
// and waits until laporctl shows the link not bound.
async function takeDown({ sims, configPath, daemon, name }) {
  sims[name].dropConnections();
  await sims[name].refuseConnections(true);
  await waitFor(async () => (await linkState(configPath, name)) !== 'bound', {
    timeoutMs: 5000, daemon, what: `link ${name} to show as not bound`,
  });
}

// The `forwarded` text the citizen `number` must get, from its `received` reply on `sim`.
function expectedForwarded(sim, api, number) {
  const received = sim.messagesTo(number)[0];
  const match = templateRegex('received').exec(received?.text ?? '');
  assert.ok(match, `${number}'s first reply is 'received': ${received?.text}`);
  const post = api.posts.find((p) => p.telpon === number);
  assert.ok(post, `a post for ${number}`);
  return fillTemplate('forwarded', { ref: match.groups.ref, tracking_id: post.trackingId });
}

test('each link answers its own MO; a down link\'s replies wait for it', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('smpp_two_links');
  await wd.run(async () => {
    const { sims, api, daemon, configPath } = await startLinks(wd, {
      links: [{ name: 'tsel' }, { name: 'isat' }],
    });
    const { tsel, isat } = sims;

    // Part 1: MO from each carrier, replies on its own link only.
    const mos = [];
    for (let i = 0; i < 4; i++) {
      mos.push(tsel.sendMo({ from: tselNumber(i), text: `LAPORYAI ${reportText(i)}` }));
      mos.push(isat.sendMo({ from: isatNumber(i), text: `LAPORYAI ${reportText(10 + i)}` }));
    }
    assert.ok((await Promise.all(mos)).every((r) => r.status === 0), 'every MO acknowledged');
    await api.waitForPosts(8, { timeoutMs: 20000 });
    await waitFor(() => [0, 1, 2, 3].every((i) => tsel.messagesTo(tselNumber(i)).length >= 2 &&
      isat.messagesTo(isatNumber(i)).length >= 2), {
      timeoutMs: 20000, daemon, what: () => `2 replies per citizen (tsel ${tsel.submits.length}, isat ${isat.submits.length})`,
    });
    for (let i = 0; i < 4; i++) {
      assert.equal(tsel.messagesTo(tselNumber(i)).length, 2);
      assert.equal(isat.messagesTo(isatNumber(i)).length, 2);
      assert.equal(tsel.messagesTo(tselNumber(i))[1].text, expectedForwarded(tsel, api, tselNumber(i)));
      assert.equal(isat.messagesTo(isatNumber(i))[1].text, expectedForwarded(isat, api, isatNumber(i)));
    }
    assert.ok(tsel.submits.every((s) => s.destination.startsWith('628111')), 'tsel carried only tsel citizens');
    assert.ok(isat.submits.every((s) => s.destination.startsWith('628155')), 'isat carried only isat citizens');
    const out = await laporctl(configPath, ['--json', 'messages', '--direction', 'out', '--limit', '100']);
    for (const m of out.json) {
      assert.equal(m.link, m.msisdn.startsWith('628111') ? 'tsel' : 'isat', `the reply to ${m.msisdn} names its link`);
    }

    // Part 2: isat goes down while its citizens' reports are still upstream.
    api.setMode('unavailable');
    const waiting = [4, 5, 6].map(isatNumber);
    for (const number of waiting) {
      assert.equal((await isat.sendMo({ from: number, text: `LAPORYAI ${reportText(Number(number.slice(-2)))}` })).status, 0);
    }
    await waitFor(() => waiting.every((n) => isat.messagesTo(n).length === 1), {
      timeoutMs: 10000, daemon, what: 'the received replies on isat',
    });
    await takeDown({ sims, configPath, daemon, name: 'isat' });
    const isatSubmitsWhenDown = isat.submits.length;
    api.setMode('ok');
    await api.waitForPosts(11, { timeoutMs: 20000 });
    // tsel carries on meanwhile.
    assert.equal((await tsel.sendMo({ from: tselNumber(4), text: 'INFO' })).status, 0);
    await waitFor(() => tsel.messagesTo(tselNumber(4)).length === 1, {
      timeoutMs: 10000, daemon, what: 'tsel answering while isat is down',
    });
    await sleep(2000);
    for (const number of waiting) {
      assert.equal(tsel.messagesTo(number).length, 0, `${number}'s reply did not leave through tsel (no fallback)`);
      assert.equal(isat.messagesTo(number).length, 1, `${number}'s forwarded reply waits`);
    }
    assert.equal(isat.submits.length, isatSubmitsWhenDown);
    const queued = (await laporctl(configPath, ['--json', 'messages', '--direction', 'out', '--limit', '100'])).json
      .filter((m) => waiting.includes(m.msisdn) && m.state === 'queued');
    assert.equal(queued.length, waiting.length, 'the waiting replies are queued');
    assert.ok(queued.every((m) => m.link === 'isat'));

    // isat comes back: the waiting replies go out there, once each.
    await isat.refuseConnections(false);
    await isat.waitForBind({ count: 2, timeoutMs: 10000 });
    await waitFor(() => waiting.every((n) => isat.messagesTo(n).length >= 2), {
      timeoutMs: 10000, daemon, what: 'the waiting replies on isat after it came back',
    });
    await sleep(500);
    for (const number of waiting) {
      const messages = isat.messagesTo(number);
      assert.equal(messages.length, 2, `${number}: ${JSON.stringify(messages.map((m) => m.text))}`);
      assert.equal(messages[1].text, expectedForwarded(isat, api, number));
      assert.equal(tsel.messagesTo(number).length, 0);
    }

    const exit = await daemon.stop({ timeoutMs: 20000 });
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});

test('with fallback = "tsel", isat\'s replies leave through tsel while isat is down', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('smpp_two_links_fallback');
  await wd.run(async () => {
    const { sims, api, daemon, configPath } = await startLinks(wd, {
      links: [{ name: 'tsel' }, { name: 'isat', fallback: 'tsel' }],
    });
    const { tsel, isat } = sims;

    api.setMode('unavailable');
    const citizens = [0, 1, 2].map(isatNumber);
    for (const number of citizens) {
      assert.equal((await isat.sendMo({ from: number, text: `LAPORYAI ${reportText(Number(number.slice(-2)))}` })).status, 0);
    }
    await waitFor(() => citizens.every((n) => isat.messagesTo(n).length === 1), {
      timeoutMs: 10000, daemon, what: 'the received replies on isat while it is up',
    });
    assert.equal(tsel.submits.length, 0, 'while isat is up its replies use isat');

    await takeDown({ sims, configPath, daemon, name: 'isat' });
    api.setMode('ok');
    await api.waitForPosts(3, { timeoutMs: 20000 });
    await waitFor(() => citizens.every((n) => tsel.messagesTo(n).length >= 1), {
      timeoutMs: 15000, daemon,
      what: () => `isat's forwarded replies through tsel (tsel saw ${tsel.submits.length} submit_sm)`,
    });
    for (const number of citizens) {
      const messages = tsel.messagesTo(number);
      assert.equal(messages.length, 1, `${number} got one reply through tsel`);
      assert.equal(messages[0].text, expectedForwarded(isat, api, number));
    }

    // isat comes back: nothing is sent a second time.
    await isat.refuseConnections(false);
    await isat.waitForBind({ count: 2, timeoutMs: 10000 });
    await sleep(1500);
    for (const number of citizens) {
      assert.equal(isat.messagesTo(number).length, 1, `${number} got only 'received' on isat`);
      assert.equal(tsel.messagesTo(number).length, 1, `${number} got 'forwarded' once, through tsel`);
    }
    const out = await laporctl(configPath, ['--json', 'messages', '--direction', 'out', '--limit', '100']);
    assert.ok(out.json.every((m) => m.state === 'submitted'), `every reply submitted: ${out.json.map((m) => m.state)}`);

    const exit = await daemon.stop({ timeoutMs: 20000 });
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});

test('a receipt marks the reply sent on its own link, when both SMSCs use the same message id', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('smpp_two_links_receipts');
  await wd.run(async () => {
    const { sims, daemon, configPath } = await startLinks(wd, {
      links: [{ name: 'tsel' }, { name: 'isat' }],
    });
    const { tsel, isat } = sims;
    // Both replies leave before either receipt comes back.
    tsel.receiptPolicy = () => ({ state: 'DELIVRD', form: 'tlv', delayMs: 1500 });
    isat.receiptPolicy = () => ({ state: 'UNDELIV', form: 'text', delayMs: 1500 });
    const acks = await Promise.all([tsel.sendMo({ from: tselNumber(1), text: 'INFO' }),
      isat.sendMo({ from: isatNumber(1), text: 'INFO' })]);
    assert.deepEqual(acks.map((a) => a.status), [0, 0]);
    await waitFor(() => tsel.receipts.length === 1 && isat.receipts.length === 1, {
      timeoutMs: 10000, daemon, what: 'one receipt from each SMSC',
    });
    // Each simulator counts its own message ids: the two replies share one.
    assert.equal(tsel.submits[0].messageId, isat.submits[0].messageId);

    let states = {};
    const readStates = async () => {
      const out = (await laporctl(configPath, ['--json', 'messages', '--direction', 'out', '--limit', '10'])).json;
      states = Object.fromEntries(out.map((m) => [m.msisdn, m.state]));
      return states;
    };
    await waitFor(async () => {
      const now = await readStates();
      return now[tselNumber(1)] === 'delivered' && now[isatNumber(1)] === 'undeliverable';
    }, { timeoutMs: 10000, daemon, what: () => `tsel's reply delivered, isat's undeliverable: ${JSON.stringify(states)}` });
    const exit = await daemon.stop({ timeoutMs: 20000 });
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});
