// Long reports (issue 4): 3-part SMS in UCS-2 (Indonesian text and emoji,
// surrogate pairs cut between two parts, as phones that count UTF-16 units
// cut them) and GSM 03.38, with 8-bit and 16-bit UDH references and SAR
// TLVs, parts of several senders interleaved and out of order, two senders
// on the same reference, one part delivered twice. Each part is acknowledged
// as soon as it is stored; the report is filed when the set is complete,
// also across a SIGKILL of the daemon in the middle of a set, and arrives
// upstream whole and exactly once. A set whose missing part never comes is
// filed after concat_timeout with what arrived, flagged incomplete.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { decodeUcs2 } from '../peers/smsc-sim.mjs';
import { makeWorkdir, sleep, startStack, templateRegex, waitFor } from './harness.mjs';
import {
  cutsSurrogatePair, gsmParts, killDaemon, listReports, query, repeatedSubmits, restartDaemon,
  ucs2PartsByUnits, udh16, udh8,
} from './durability_util.mjs';

// UTF-16 units (UCS-2) or septets (GSM) per part for each way of numbering parts.
const k_ucs2_units = { udh8: 67, udh16: 66, sar: 70 };
const k_gsm_septets = { udh8: 153, udh16: 152, sar: 160 };

// A long MO: its parts' bytes and a way to send part `seq` (1-based).
function longSms({ from, text, scheme, ref, coding = 'ucs2' }) {
  const parts = coding === 'ucs2'
    ? ucs2PartsByUnits(text, k_ucs2_units[scheme])
    : gsmParts(text, k_gsm_septets[scheme]);
  const total = parts.length;
  return {
    from,
    text,
    parts,
    // The report text upstream: after the keyword, blanks around trimmed.
    expected: text.replace(/^LAPORYAI /, '').trim(),
    // `as`: the sender as this delivery writes it (default `from`).
    send(sim, seq, { as = from } = {}) {
      const body = parts[seq - 1];
      const dataCoding = coding === 'ucs2' ? 0x08 : 0x00;
      if (scheme === 'sar') {
        return sim.sendMo({
          from: as, dataCoding, shortMessage: body,
          tlvs: { sar_msg_ref_num: ref, sar_total_segments: total, sar_segment_seqnum: seq },
        });
      }
      const udh = scheme === 'udh16' ? udh16(ref, total, seq) : udh8(ref, total, seq);
      return sim.sendMo({ from: as, dataCoding, esmClass: 0x40, shortMessage: Buffer.concat([udh, body]) });
    },
  };
}

// `head`, padded with '.' so that the emoji after it begins at UTF-16 unit
// `at` - 1: its high surrogate ends one part, its low one begins the next.
function pairAcross(at, head, emoji, tail) {
  if (head.length > at - 1) {
    throw new Error(`pairAcross: head of ${head.length} units is longer than ${at - 1}`);
  }
  return head.padEnd(at - 1, '.') + emoji + tail;
}

const k_senders = {
  s1: '6281377700001', s2: '6281377700002', s3: '6281377700003', s4: '6281377700004',
  s5: '6281377700005', s6: '6281377700006', s7: '6281377700007',
};

function reportSets() {
  const s1 = longSms({
    from: k_senders.s1, scheme: 'udh8', ref: 0x42,
    text: pairAcross(67, 'LAPORYAI Jembatan gantung di Desa Sukamaju RT 04 sudah miring,', '🌉',
      ' papannya banyak yang lapuk. Anak-anak sekolah tetap lewat setiap pagi. Mohon Dinas PUPR ' +
      'segera memperbaiki 🙏'),
  });
  const s2 = longSms({
    from: k_senders.s2, scheme: 'udh16', ref: 0x1234,
    text: pairAcross(132, 'LAPORYAI Pelayanan di Puskesmas Kecamatan Cibeunying lambat sekali: antre dari ' +
      'jam 07.00 baru dipanggil jam 13.00,', '😡',
    ' padahal lansia dan ibu hamil berdiri. Mohon tambah petugas.'),
  });
  const s3 = longSms({
    from: k_senders.s3, scheme: 'sar', ref: 0xbeef,
    text: pairAcross(70, 'LAPORYAI Pungutan liar saat mengurus KTP-el di kelurahan, Rp 150.000', '💸',
      ' tanpa kuitansi. Petugas bilang supaya cepat jadi. Kejadian hari Senin, loket 2. ' +
      'Warga lain juga mengalami — mohon ditindak ✊'),
  });
  const s4 = longSms({
    // Same 8-bit reference as s1, another sender: the sets must not mix.
    from: k_senders.s4, scheme: 'udh8', ref: 0x42,
    text: 'LAPORYAI Lampu lalu lintas di simpang Jl. Sudirman – Jl. Gatot Subroto mati sejak 3 hari 🚦 ' +
      'Setiap pagi macet panjang dan hampir terjadi tabrakan. Mohon Dishub memperbaiki. ' +
      'Dekat halte 🚌',
  });
  const s5 = longSms({
    from: k_senders.s5, scheme: 'udh8', ref: 0x99, coding: 'gsm',
    text: 'LAPORYAI Retribusi pasar dinaikkan sepihak dari Rp 2.000 menjadi Rp 10.000 {per hari} ' +
      'tanpa pengumuman resmi [Pasar Baru, Blok C]. Pedagang kecil keberatan ~ banyak yang tutup. ' +
      'Kuitansi tertulis "retribusi kebersihan" padahal sampah tidak diangkut sejak 2 minggu. ' +
      'Harga setara 0,60 € per hari, terlalu mahal untuk pedagang sayur. Mohon Dinas Perdagangan ' +
      'memeriksa petugas pemungut dan memasang tarif resmi | terima kasih.',
  });
  const s6 = longSms({
    from: k_senders.s6, scheme: 'udh8', ref: 0x07,
    text: pairAcross(134, 'LAPORYAI Sekolah SDN 5 Kedungwaru atapnya bocor di tiga ruang kelas; saat hujan ' +
      'murid dipulangkan lebih awal. Sudah dilaporkan ke', '🏫',
    ' komite sejak Agustus. Mohon Dinas Pendidikan meninjau.'),
  });
  const s7 = longSms({
    from: k_senders.s7, scheme: 'udh16', ref: 0x0bad,
    text: 'LAPORYAI Air PDAM di Perumahan Griya Asri tidak mengalir selama 5 hari 💧 warga terpaksa ' +
      'membeli air galon untuk mandi dan memasak. Tagihan tetap datang penuh. Mohon PDAM ' +
      'menjelaskan 🙏',
  });
  return { s1, s2, s3, s4, s5, s6, s7 };
}

test('long reports arrive whole and once: interleaved, duplicated, across a crash', { timeout: 120000 }, async () => {
  const wd = await makeWorkdir('long_sms');
  await wd.run(async () => {
    const stack = await startStack(wd, {
      api: { adapter: 'rest-json' },
      config: { upstream: { adapter: 'rest-json' } },
    });
    const { sim, api, configPath, dbPath } = stack;
    let daemon = stack.daemon;
    const sets = reportSets();
    const { s1, s2, s3, s4, s5, s6, s7 } = sets;

    // The texts are what they claim to be.
    for (const [name, set] of Object.entries(sets)) {
      assert.equal(set.parts.length, 3, `${name} is 3 parts long`);
    }
    assert.ok(cutsSurrogatePair(s1.text, 67, 1), 's1: 🌉 is cut between parts 1 and 2');
    assert.ok(cutsSurrogatePair(s2.text, 66, 2), 's2: 😡 is cut between parts 2 and 3');
    assert.ok(cutsSurrogatePair(s3.text, 70, 1), 's3: 💸 is cut between parts 1 and 2');
    assert.ok(cutsSurrogatePair(s6.text, 67, 2), 's6: 🏫 is cut between parts 2 and 3');

    const send = async (set, seq, options) => {
      const { status } = await set.send(sim, seq, options);
      assert.equal(status, 0, `part ${seq} from ${set.from} is acknowledged ESME_ROK`);
    };

    // Interleaved, out of order; nothing is filed while a set is incomplete.
    // The SMSC delivers a part twice: s1's first while its set is open,
    // s2's middle one right after it completed the set.
    const firstWave = [[s1, 1], [s2, 3], [s3, 2], [s4, 1], [s5, 2], [s1, 3], [s2, 1], [s1, 1], [s3, 1], [s4, 3],
      [s5, 3]];
    for (const [set, seq] of firstWave) {
      await send(set, seq);
    }
    // A redelivery that is not byte for byte the same: the SMSC writes the
    // sender with '+' this time. Same citizen, same part: ignored.
    await send(s3, 2, { as: `+${s3.from}` });
    assert.deepEqual(await listReports(configPath), [], 'no report while every set misses a part');
    const secondWave = [[s2, 2], [s2, 2], [s4, 2], [s1, 2], [s5, 1], [s3, 3]];
    for (const [set, seq] of secondWave) {
      await send(set, seq);
    }

    // s7's parts 2 and 3 and s6's part 1 are stored when the daemon dies.
    await send(s7, 3);
    await send(s7, 2);
    await api.waitForPosts(5, { timeoutMs: 30000 });
    await waitFor(async () => (await query(dbPath,
      "SELECT count(*) AS n FROM outbound WHERE state = 'queued'"))[0].n === 0 &&
      [s1, s2, s3, s4, s5].every((s) => sim.messagesTo(s.from).length >= 2), {
      timeoutMs: 30000, daemon, what: () => `the replies to the first five reports (${sim.submits.length} so far)`,
    });
    await send(s6, 1);
    await killDaemon(daemon, sim);
    daemon = await restartDaemon(wd, configPath, sim);
    await send(s6, 1); // redelivered: the SMSC may have missed our response
    await send(s6, 3);
    await send(s7, 1);
    await send(s6, 2);

    const all = Object.values(sets);
    await api.waitForPosts(all.length, { timeoutMs: 30000 });
    await waitFor(() => all.every((s) => sim.messagesTo(s.from).length >= 2), {
      timeoutMs: 30000, daemon, what: () => `two replies to each sender (${sim.submits.length} submit_sm so far)`,
    });
    await sleep(1500); // room for a stray second filing or post to show

    // Upstream: each report once, whole, under one idempotency key.
    const posts = new Map();
    for (const post of api.posts) {
      assert.ok(!posts.has(post.telpon),
        `one post from ${post.telpon}: ${JSON.stringify(api.posts.map((p) => p.isi))}`);
      posts.set(post.telpon, post);
    }
    assert.equal(new Set(api.posts.map((p) => p.idempotencyKey)).size, api.posts.length);
    for (const [name, set] of Object.entries(sets)) {
      const post = posts.get(set.from);
      assert.ok(post, `${name} reached the API`);
      assert.equal(post.isi, set.expected, `${name}'s text upstream is whole and exact`);
      assert.ok(!post.isi.includes('\ufffd'), `${name}: no replacement character`);
    }
    assert.equal(api.posts.length, all.length);

    const reports = await listReports(configPath);
    assert.equal(reports.length, all.length, `one report per long SMS: ${JSON.stringify(reports.map((r) => r.text))}`);
    for (const [name, set] of Object.entries(sets)) {
      const mine = reports.filter((r) => r.msisdn === set.from);
      assert.equal(mine.length, 1, `${name}: one report`);
      assert.equal(mine[0].text, set.expected, `${name}: the stored text`);
      assert.equal(mine[0].ref, posts.get(set.from).idempotencyKey, `${name}: the key upstream is the ref`);
    }
    const flagged = await query(dbPath, 'SELECT count(*) AS n FROM reports WHERE incomplete != 0');
    assert.equal(flagged[0].n, 0, 'no complete set is flagged incomplete');

    const receivedRe = templateRegex('received');
    const forwardedRe = templateRegex('forwarded');
    for (const set of all) {
      const texts = sim.messagesTo(set.from).map((m) => m.text);
      assert.equal(texts.length, 2, `${set.from} got two replies: ${JSON.stringify(texts)}`);
      assert.match(texts[0], receivedRe);
      assert.match(texts[1], forwardedRe);
    }
    assert.deepEqual(repeatedSubmits(sim), [], 'no reply was sent twice');
    assert.deepEqual(sim.protocolErrors, []);
    assert.deepEqual(sim.genericNacks, []);
  });
});

test('a set whose part never comes is filed after concat_timeout with what arrived', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('long_sms_incomplete');
  await wd.run(async () => {
    const { sim, api, daemon, configPath, dbPath } = await startStack(wd, {
      api: { adapter: 'rest-json' },
      config: { upstream: { adapter: 'rest-json' }, limits: { concat_timeout: '2s' } },
    });
    const lost = longSms({
      from: '6281388800001', scheme: 'udh8', ref: 0x21,
      text: 'LAPORYAI Pohon tumbang di Jl. Pahlawan depan kantor pos menutup separuh jalan 🌳 sejak ' +
        'kemarin sore. Kendaraan harus bergantian lewat. Mohon BPBD segera memotong dan mengangkut ' +
        'batangnya.',
    });
    const whole = longSms({
      from: '6281388800002', scheme: 'sar', ref: 0x2222,
      text: 'LAPORYAI Genangan air di terowongan Jl. Kartini setinggi lutut setiap hujan deras 🌧️ ' +
        'pompa air tidak berfungsi. Motor banyak yang mogok di tengah terowongan. Mohon pompa ' +
        'diperbaiki sebelum musim hujan puncak.',
    });
    assert.equal(lost.parts.length, 3);
    assert.equal(whole.parts.length, 3);

    const started = Date.now();
    for (const seq of [1, 3]) {
      assert.equal((await lost.send(sim, seq)).status, 0, `part ${seq} of the incomplete set is acknowledged`);
    }
    for (const seq of [2, 3, 1]) {
      assert.equal((await whole.send(sim, seq)).status, 0);
    }
    await sleep(Math.max(0, started + 1000 - Date.now()));
    const early = await listReports(configPath);
    assert.deepEqual(early.map((r) => r.msisdn), [whole.from], 'the incomplete set waits for its missing part');

    // Filed once the timeout passed (the sweep runs every second at this timeout).
    const arrived = decodeUcs2(Buffer.concat([lost.parts[0], lost.parts[2]]));
    const expected = arrived.replace(/^LAPORYAI /, '').trim();
    await api.waitForPosts(2, { timeoutMs: 15000 });
    const filedAfter = Date.now() - started;
    assert.ok(filedAfter >= 2000, `filed after the 2 s timeout, not before (${filedAfter} ms)`);
    const post = api.posts.find((p) => p.telpon === lost.from);
    assert.ok(post, 'the incomplete report went upstream');
    assert.equal(post.isi, expected, 'its text is parts 1 and 3 as they arrived');

    const reports = await listReports(configPath);
    assert.equal(reports.length, 2);
    const report = reports.find((r) => r.msisdn === lost.from);
    assert.equal(report.text, expected);
    const rows = await query(dbPath, 'SELECT msisdn, incomplete FROM reports ORDER BY msisdn');
    assert.deepEqual(rows.map((r) => [r.msisdn, r.incomplete]), [[lost.from, 1], [whole.from, 0]],
      'only the set with a missing part is flagged incomplete');

    // It is handled like any report: the citizen hears of it twice.
    await waitFor(() => sim.messagesTo(lost.from).length >= 2, {
      timeoutMs: 15000, daemon, what: 'the replies to the incomplete report',
    });
    await sleep(2500); // another sweep or two must not file it again
    assert.equal(api.posts.length, 2);
    assert.equal((await listReports(configPath)).length, 2);
    assert.equal(sim.messagesTo(lost.from).length, 2);
    assert.deepEqual(repeatedSubmits(sim), []);
  });
});
