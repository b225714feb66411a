// The spare coordinator a launch or restart boots before its flags are known
// (cli/coordinator-spare.ts, coordinator/daemon-main.ts --spare): real Node processes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startCoordinatorDaemon } from '../../cli/coordinator-process.js';
import { bootSpareIfNeeded, dropSpare, startsCoordinator } from '../../cli/coordinator-spare.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function gone(pid: number, ms = 10_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (!alive(pid)) return true;
  return false;
}

function ckptDir(t: import('ava').ExecutionContext): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-spare-'));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

test.serial('a spare is booted only for a launch or restart sure to start a coordinator here', (t) => {
  const env = {};
  t.true(startsCoordinator(['launch', '--new-coordinator', './a.out'], env));
  t.true(startsCoordinator(['launch', '--coord-port', '0', './a.out', '-x'], env));
  t.true(startsCoordinator(['launch', '-p', '0', '--ckptdir', 'ck', 'a.out'], env));
  t.true(startsCoordinator(['restart', '--coord-port=0', 'ck'], env));
  t.true(startsCoordinator(['restart', 'ck'], { CAIRN_COORD_PORT: '0' }));
  // the program's own flags are not cairn's
  t.false(startsCoordinator(['launch', './a.out', '--coord-port', '0', '--new-coordinator'], env));
  // the default port may find a coordinator running; another port is another's
  t.false(startsCoordinator(['launch', './a.out'], env));
  t.false(startsCoordinator(['restart', '--coord-port', '7779', 'ck'], env));
  // an agent of a multi-host restart joins its restarter's
  t.false(startsCoordinator(['restart', '--new-coordinator', '--only-host', 'node2', 'ck'], env));
  t.false(startsCoordinator(['command', '--coord-port', '0', '--status'], env));
  t.false(startsCoordinator(['launch', '--new-coordinator', '--help'], env));
});

test.serial('the spare becomes the coordinator: it listens with the flags it is handed and logs where a spawned one would', async (t) => {
  const dir = ckptDir(t);
  const pid = bootSpareIfNeeded(['launch', '--new-coordinator', 'a.out']);
  t.truthy(pid, 'a spare was booted');
  t.teardown(() => {
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
  });
  const c = await startCoordinatorDaemon({ port: 0, ckptDir: dir, intervalS: 0, exitOnLast: false });
  t.is(c.pid, pid!, 'the coordinator is the spare');
  t.true(c.port > 0);
  t.regex(fs.readFileSync(c.log, 'utf8'), new RegExp(`cairn-coordinator\\[${pid}\\]: listening on port ${c.port}`));
  process.kill(c.pid, 'SIGTERM');
  t.true(await gone(c.pid), 'it shuts down on SIGTERM');
  t.regex(fs.readFileSync(c.log, 'utf8'), /shutting down/);
});

test.serial('a spare not wanted exits; one that died before its flags is replaced by a spawned coordinator', async (t) => {
  const pid = bootSpareIfNeeded(['restart', '--coord-port', '0', 'ck']);
  t.truthy(pid);
  dropSpare();
  t.true(await gone(pid!), 'the dropped spare exits');

  const dir = ckptDir(t);
  const dead = bootSpareIfNeeded(['restart', '--coord-port', '0', 'ck']);
  t.truthy(dead);
  process.kill(dead!, 'SIGKILL');
  await gone(dead!);
  const c = await startCoordinatorDaemon({ port: 0, ckptDir: dir, intervalS: 0, exitOnLast: false });
  t.teardown(() => {
    if (alive(c.pid)) process.kill(c.pid, 'SIGKILL');
  });
  t.not(c.pid, dead, 'a new coordinator, not the dead spare');
  t.true(c.port > 0);
  process.kill(c.pid, 'SIGTERM');
  t.true(await gone(c.pid));
});

test.serial('a spare handed the flags of a coordinator that cannot start reports why, as a spawned one does', async (t) => {
  const dir = ckptDir(t);
  const first = await startCoordinatorDaemon({ port: 0, ckptDir: dir, intervalS: 0, exitOnLast: false });
  t.teardown(() => {
    if (alive(first.pid)) process.kill(first.pid, 'SIGKILL');
  });
  const pid = bootSpareIfNeeded(['launch', '--new-coordinator', 'a.out']);
  t.truthy(pid);
  const e = await t.throwsAsync(startCoordinatorDaemon({ port: first.port, ckptDir: dir, intervalS: 0, exitOnLast: false }));
  t.regex(e!.message, new RegExp(`the coordinator did not start: port ${first.port} is already in use`));
  t.true(await gone(pid!), 'the spare exited');
  process.kill(first.pid, 'SIGTERM');
  t.true(await gone(first.pid));
});
