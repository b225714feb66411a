// The socket directories of killed agents of this host are removed by the next agent; a
// live agent's, another host's (hosts may share /tmp), one without an owner and one whose
// owner file was written moments ago (being taken over) stay; an agent of an earlier boot
// is dead.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeStaleSocketDirs, writeOwner } from '../../agent/stale-socket-dirs.js';

test("a dead agent's socket directory goes (killed, pid reused, earlier boot); a live one, another host's, an unowned one, one being taken over and `keep` stay", async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-sweep-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const mk = (n: string) => {
    const d = path.join(tmp, `cairn-agent-${n}`);
    fs.mkdirSync(d, { mode: 0o700 });
    return d;
  };
  const owner = (d: string) => path.join(d, 'owner');

  const live = mk('live');
  writeOwner(live);   // this process: alive
  // A killed agent: a process that wrote its owner file, then was SIGKILLed.
  const dead = mk('dead');
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  const stat = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  const mine = fs.readFileSync(owner(live), 'utf8').trim().split(' ');
  fs.writeFileSync(owner(dead), `${mine[0]} ${mine[1]} ${child.pid} ${start}\n`);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  // The same pid reused by another process: its start time differs.
  const reused = mk('reused');
  fs.writeFileSync(owner(reused), `${mine[0]} ${mine[1]} ${process.pid} 1\n`);
  const elsewhere = mk('elsewhere');
  fs.writeFileSync(owner(elsewhere), `another-host ${mine[1]} ${child.pid} ${start}\n`);
  const rebooted = mk('rebooted');
  fs.writeFileSync(owner(rebooted), `${mine[0]} 00000000-0000-0000-0000-000000000000 ${child.pid} ${start}\n`);
  const unowned = mk('unowned');
  const kept = mk('kept');
  fs.writeFileSync(owner(kept), `${mine[0]} ${mine[1]} ${child.pid} ${start}\n`);
  // Owner files written a minute ago, but for one: a dead agent's directory whose owner file
  // was just rewritten (an agent of another host sharing /tmp takes it over for a restart).
  const takenOver = mk('taken-over');
  fs.writeFileSync(owner(takenOver), `${mine[0]} ${mine[1]} ${child.pid} ${start}\n`);
  const aMinuteAgo = new Date(Date.now() - 60_000);
  for (const d of [live, dead, reused, elsewhere, rebooted, kept]) fs.utimesSync(owner(d), aMinuteAgo, aMinuteAgo);

  const removed = removeStaleSocketDirs(process.getuid!(), kept, tmp);
  t.deepEqual(removed.sort(), [dead, reused, rebooted].sort());
  for (const d of [live, elsewhere, unowned, kept, takenOver]) t.true(fs.existsSync(d), `${path.basename(d)} must stay`);
});
