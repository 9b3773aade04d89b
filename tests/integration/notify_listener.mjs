// A fake systemd notification socket for the tests that check sd_notify
// (READY=1, WATCHDOG=1, STOPPING=1) and the environment that keeps a
// daemon away from the real service manager.

import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

import { waitFor } from './harness.mjs';

// For startDaemon, whose env is merged over process.env: undefined drops a variable.
export const k_no_systemd = Object.freeze({
  NOTIFY_SOCKET: undefined, WATCHDOG_USEC: undefined, WATCHDOG_PID: undefined, JOURNAL_STREAM: undefined,
});

// A fake systemd notification socket: a unix datagram socket bound by a small
// python3 helper (node has no unix datagram sockets) that prints every
// datagram as one JSON string per line. `messages` gets {time, fields}, one
// entry per datagram, fields being its "KEY=VALUE" lines.
const k_notify_listener = `
import json, os, socket, sys
path = sys.argv[1]
parent = os.getppid()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.5)
print(json.dumps("listening"), flush=True)
while True:
    try:
        data = s.recv(65536)
    except socket.timeout:
        if os.getppid() != parent:
            break
        continue
    print(json.dumps(data.decode("utf-8", "replace")), flush=True)
`;

export async function startNotifyListener(wd) {
  const socketPath = path.join(wd.path, 'notify.sock');
  const child = spawn('python3', ['-c', k_notify_listener, socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const messages = [];
  const errors = [];
  let listening = false;
  child.stderr.on('data', (d) => errors.push(d.toString('utf8')));
  readline.createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
    const text = JSON.parse(line);
    if (!listening && text === 'listening') {
      listening = true;
      return;
    }
    messages.push({ time: Date.now(), fields: text.split('\n').filter(Boolean) });
  });
  const exited = new Promise((resolve) => child.on('close', resolve));
  wd.defer(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  await waitFor(() => listening, {
    timeoutMs: 10000, what: () => `the python3 notify listener to bind ${socketPath} (${errors.join('')})`,
  });
  return {
    socketPath,
    messages,
    // The datagrams carrying `field` (e.g. "READY=1").
    with(field) {
      return messages.filter((m) => m.fields.includes(field));
    },
  };
}
