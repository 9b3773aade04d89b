// laporctl as an operator runs it: without access to the SMPP password or
// the API token (it never needs them), and on a database holding a sender
// that is not valid UTF-8 (an SMSC's odd octets): --json stays one document.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';

import { laporctl, makeWorkdir, startStack, waitFor } from './harness.mjs';

test('laporctl works without the secret files and with a non-UTF-8 sender stored', { timeout: 60000 }, async () => {
  const wd = await makeWorkdir('laporctl_operator');
  await wd.run(async () => {
    const passwordFile = path.join(wd.path, 'smpp.secret');
    const tokenFile = path.join(wd.path, 'lapor.token');
    await writeFile(passwordFile, 'secret\n', { mode: 0o600 });
    const { sim, daemon, configPath, dbPath } = await startStack(wd, {
      config: ({ api }) => {
        writeFileSync(tokenFile, `${api.token}\n`, { mode: 0o600 });
        return { smsc: { password: undefined, password_file: passwordFile },
          upstream: { token: undefined, token_file: tokenFile } };
      },
    });
    await sim.waitForBind();
    assert.equal((await sim.sendMo({ from: '6281388800001', text: 'LAPORYAI got mampet di jalan melati' })).status, 0);
    await waitFor(async () => (await laporctl(configPath, ['--json', 'reports'])).json?.length === 1,
      { daemon, what: 'the report in laporctl' });

    // The operator's view has no secrets: they are gone from the disk now.
    await rm(passwordFile);
    await rm(tokenFile);
    const status = await laporctl(configPath, ['--json', 'status']);
    assert.equal(status.json.daemon, 'running', `status without the secret files: ${status.stderr}`);
    const reports = await laporctl(configPath, ['reports']);
    assert.equal(reports.code, 0, `reports without the secret files: ${reports.stderr}`);

    // A sender stored with octets that are not UTF-8.
    execFileSync('sqlite3', [dbPath, "UPDATE reports SET msisdn = CAST(X'36FF3238' AS TEXT)"]);
    const json = await laporctl(configPath, ['--json', 'reports']);
    assert.equal(json.code, 0, `--json reports with a non-UTF-8 sender: ${json.stderr}`);
    assert.equal(json.json.length, 1, 'one JSON document with the report');
    assert.match(json.json[0].msisdn, /^6\uFFFD28$/, 'the odd octet is replaced, not a crash');
    assert.deepEqual(await daemon.stop({ timeoutMs: 20000 }), { code: 0, signal: null });
  });
});
