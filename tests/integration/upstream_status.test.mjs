// Issue 6: rest-json with status_url. The daemon asks the API for the status
// of each forwarded report every poll_interval (1s here). Each change the
// API shows reaches the citizen as exactly one `status_changed` SMS
// ("Laporan #{tracking_id}: {status}. {note}"), is kept in status_history,
// and "Selesai" closes the report: state "closed", no more polling for it.
// `CEK <tracking id>` is answered at once from the stored status, even while
// the status endpoint is down.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { fillTemplate, makeWorkdir, sleep, startStack, templateRegex, waitFor } from './harness.mjs';
import {
  ctlReport, fileReportAndGetRef, k_fast_upstream, statusChangedText, waitForReplies,
} from './upstream_util.mjs';

const k_poll_ms = 1000;
const k_a = '6281310000001';
const k_b = '6281310000002';

// The status_changed texts `msisdn` got, in order. (Not by templateRegex: with
// an empty note the text ends at the status's full stop, without the blank.)
function statusTexts(sim, msisdn) {
  return sim.messagesTo(msisdn)
    .filter((m) => m.complete && /^Laporan #[0-9A-Za-z-]+: /.test(m.text))
    .map((m) => m.text);
}

async function waitForStatusTexts(sim, msisdn, expected, daemon) {
  await waitFor(() => statusTexts(sim, msisdn).length >= expected.length, {
    timeoutMs: 4 * k_poll_ms + 5000, daemon,
    what: () => `${expected.length} status_changed SMS to ${msisdn} (got ${JSON.stringify(statusTexts(sim, msisdn))})`,
  });
  assert.deepEqual(statusTexts(sim, msisdn), expected, `the status_changed SMS to ${msisdn}`);
}

test('status changes upstream reach the citizen once each; Selesai closes; CEK answers from the store',
  { timeout: 60000 }, async (t) => {
    const wd = await makeWorkdir('upstream_status');
    await wd.run(async () => {
      const { sim, api, daemon, configPath } = await startStack(wd, {
        api: { adapter: 'rest-json' },
        config: ({ api: double }) => ({
          upstream: {
            ...k_fast_upstream, adapter: 'rest-json', status_url: double.statusUrl, poll_interval: `${k_poll_ms}ms`,
          },
        }),
      });
      const refA = await fileReportAndGetRef(sim, k_a, 'jembatan kayu di Desa Sukamaju lapuk dan berbahaya',
        { daemon });
      const refB = await fileReportAndGetRef(sim, k_b, 'sampah menumpuk di TPS Jl. Melati sudah dua minggu',
        { daemon });
      const idA = (await waitForReplies(sim, k_a, 'forwarded', { daemon }))[0].groups.tracking_id;
      const idB = (await waitForReplies(sim, k_b, 'forwarded', { daemon }))[0].groups.tracking_id;
      assert.deepEqual([idA, idB].sort(), api.posts.map((p) => p.trackingId).sort());

      // The first status the API shows (it files new reports as "Belum Terverifikasi") is a change from none.
      const expectedA = [statusChangedText(idA, 'Belum Terverifikasi')];
      const expectedB = [statusChangedText(idB, 'Belum Terverifikasi')];
      await waitForStatusTexts(sim, k_a, expectedA, daemon);
      await waitForStatusTexts(sim, k_b, expectedB, daemon);

      api.setStatus(idA, 'Diproses', 'Laporan diteruskan ke Dinas PUPR Kabupaten');
      expectedA.push(statusChangedText(idA, 'Diproses', 'Laporan diteruskan ke Dinas PUPR Kabupaten'));
      assert.equal(expectedA[1], 'Laporan #' + idA + ': Diproses. Laporan diteruskan ke Dinas PUPR Kabupaten');
      await waitForStatusTexts(sim, k_a, expectedA, daemon);
      // Several polls of an unchanged status send nothing more.
      const pollsBefore = api.statusRequests.filter((r) => r.trackingId === idA).length;
      await sleep(3 * k_poll_ms + 500);
      const pollsDuring = api.statusRequests.filter((r) => r.trackingId === idA).length - pollsBefore;
      t.diagnostic(`${pollsDuring} polls of #${idA} in ${3 * k_poll_ms + 500} ms with no change`);
      assert.ok(pollsDuring >= 2, `the daemon kept polling #${idA} (${pollsDuring} polls in 3.5 s)`);
      assert.ok(pollsDuring <= 6, `the daemon polls about once per poll_interval (${pollsDuring} polls in 3.5 s)`);
      assert.deepEqual(statusTexts(sim, k_a), expectedA, 'no repeated status_changed for an unchanged status');

      // CEK by tracking id, while the status endpoint is down: the answer comes from the store, at once.
      api.setStatusMode('unavailable');
      const cekAt = Date.now();
      const { status: cekStatus } = await sim.sendMo({ from: k_a, text: `CEK ${idA}` });
      assert.equal(cekStatus, 0);
      const [cek] = await waitForReplies(sim, k_a, 'status_reply', { daemon, timeoutMs: 5000 });
      const cekDelay = cek.time - cekAt;
      t.diagnostic(`CEK answered ${cekDelay} ms after the MO`);
      assert.ok(cekDelay < 2000, `CEK answered at once (${cekDelay} ms), not after asking upstream`);
      assert.equal(cek.groups.ref, refA);
      assert.equal(cek.groups.tracking_id, idA);
      assert.equal(cek.groups.status, 'Diproses', `CEK tells the stored status: ${cek.text}`);
      assert.match(cek.groups.updated, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/, `CEK tells when: ${cek.text}`);
      api.setStatusMode('ok');

      // B moves on too, and A is finished: Selesai closes it.
      api.setStatus(idB, 'Bukan Wewenang', 'Dialihkan ke Pemerintah Kota');
      expectedB.push(statusChangedText(idB, 'Bukan Wewenang', 'Dialihkan ke Pemerintah Kota'));
      api.setStatus(idA, 'Selesai', 'Jembatan sudah diperbaiki');
      expectedA.push(statusChangedText(idA, 'Selesai', 'Jembatan sudah diperbaiki'));
      await waitForStatusTexts(sim, k_a, expectedA, daemon);
      await waitForStatusTexts(sim, k_b, expectedB, daemon);
      await waitFor(async () => (await ctlReport(configPath, refA)).state === 'closed', {
        timeoutMs: 5000, daemon, what: `${refA} to be closed`,
      });
      const closedAt = Date.now();

      // A change upstream after Selesai is not asked for any more; B is still polled.
      api.setStatus(idA, 'Diproses', 'dibuka kembali');
      const pollsOfBBefore = api.statusRequests.filter((r) => r.trackingId === idB).length;
      await sleep(3 * k_poll_ms + 500);
      const laterPollsOfA = api.statusRequests.filter((r) => r.trackingId === idA && r.time >= closedAt + 200).length;
      const pollsOfB = api.statusRequests.filter((r) => r.trackingId === idB).length - pollsOfBBefore;
      // (A poll already under way when the state changed may still land in the first 200 ms.)
      assert.equal(laterPollsOfA, 0, `no polls of #${idA} once it was closed`);
      assert.ok(pollsOfB >= 2, `the open report #${idB} is still polled (${pollsOfB} polls)`);
      assert.deepEqual(statusTexts(sim, k_a), expectedA, 'nothing more for the closed report');
      assert.deepEqual(statusTexts(sim, k_b), expectedB);

      const reportA = await ctlReport(configPath, refA);
      assert.equal(reportA.state, 'closed');
      assert.equal(reportA.status, 'Selesai');
      assert.deepEqual(reportA.status_history.map((h) => [h.status, h.note]), [
        ['Belum Terverifikasi', null],
        ['Diproses', 'Laporan diteruskan ke Dinas PUPR Kabupaten'],
        ['Selesai', 'Jembatan sudah diperbaiki'],
      ]);
      assert.equal(reportA.replies.filter((r) => r.kind === 'status_changed').length, 3);
      const reportB = await ctlReport(configPath, refB);
      assert.equal(reportB.state, 'forwarded');
      assert.equal(reportB.status, 'Bukan Wewenang');
      assert.deepEqual(reportB.status_history.map((h) => h.status), ['Belum Terverifikasi', 'Bukan Wewenang']);

      // The citizen's whole conversation for A.
      const re = templateRegex('status_reply');
      assert.deepEqual(sim.messagesTo(k_a).map((m) => (re.test(m.text) ? 'status_reply' : m.text)), [
        fillTemplate('received', { ref: refA }),
        fillTemplate('forwarded', { ref: refA, tracking_id: idA }),
        expectedA[0], expectedA[1], 'status_reply', expectedA[2],
      ]);
    });
  });
