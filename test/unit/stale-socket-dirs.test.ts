// The socket directories of killed agents are removed by the next agent; live ones, and one
// an agent may be about to listen in, stay.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { removeStaleSocketDirs } from '../../agent/stale-socket-dirs.js';

test('a dead agent\'s socket directory goes; a live one, a fresh empty one and `keep` stay', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-sweep-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const mk = (n: string) => {
    const d = path.join(tmp, `cairn-agent-${n}`);
    fs.mkdirSync(d, { mode: 0o700 });
    return d;
  };
  const listen = (d: string) =>
    new Promise<net.Server>((resolve) => {
      const s = net.createServer().listen(path.join(d, 'spawn.sock'), () => resolve(s));
    });
  const live = mk('live');
  const server = await listen(live);
  t.teardown(() => server.close());
  // A killed agent: a process listens there and is killed; its socket file stays.
  const dead = mk('dead');
  const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('up'))", path.join(dead, 'spawn.sock')], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  t.true(fs.existsSync(path.join(dead, 'spawn.sock')), 'the dead socket file must stay for the test to mean anything');
  const fresh = mk('fresh');
  const old = mk('old');
  const past = new Date(Date.now() - 10 * 60_000);
  fs.utimesSync(old, past, past);
  const kept = mk('kept');
  fs.utimesSync(kept, past, past);
  const other = path.join(tmp, 'not-cairn');
  fs.mkdirSync(other);
  fs.utimesSync(other, past, past);

  const removed = await removeStaleSocketDirs(process.getuid!(), kept, tmp);
  t.deepEqual(removed.sort(), [dead, old].sort());
  for (const d of [live, fresh, kept, other]) t.true(fs.existsSync(d), `${path.basename(d)} must stay`);
  t.false(fs.existsSync(dead));
  t.false(fs.existsSync(old));
});
