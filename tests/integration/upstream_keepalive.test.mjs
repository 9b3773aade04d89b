// The API closes a kept-alive connection once it sat idle past its
// keep-alive timeout (node's and Apache's default is 5 s; here 150 ms, which
// node 20 stretches by a second). A
// quiet gateway files its next report over a fresh connection, not over the
// closed one: with lapor-xml, which cannot be sent twice, the closed one
// would fail the request once written, and the report would wait for a
// retry, logged as possibly filed twice.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { linesMatching, makeWorkdir, sleep, startStack, waitFor } from './harness.mjs';

test('lapor-xml: a report after the API closed an idle connection goes at once, not as a retry',
  { timeout: 60000 }, async () => {
    const wd = await makeWorkdir('upstream_keepalive');
    await wd.run(async () => {
      const { sim, api, daemon } = await startStack(wd, { api: { keepAliveTimeoutMs: 150 } });
      const senders = ['6281377730001', '6281377730002', '6281377730003'];
      for (const [i, from] of senders.entries()) {
        if (i > 0) {
          await sleep(1500); // the API hangs up the idle connection meanwhile
        }
        assert.equal((await sim.sendMo({ from, text: `LAPORYAI lampu jalan mati, laporan ${i}` })).status, 0);
        await waitFor(() => api.posts.some((p) => p.telpon === from),
          { daemon, timeoutMs: 10000, what: `the API to receive report ${i}` });
      }
      assert.deepEqual(linesMatching(daemon, /upstream: report not forwarded|may already be filed/), [],
        'no report met the closed connection');
      assert.equal(api.requests.length, senders.length, 'one request a report');
      assert.equal(api.posts.length, senders.length, 'each filed once');
      assert.equal(api.connections, senders.length, 'a fresh connection after each idle close');
    });
  });
