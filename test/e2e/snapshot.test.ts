// Low-pause checkpoints: the job runs again as soon as its state is taken, while its pages are
// written from a copy-on-write snapshot; the job sees nothing of it (no SIGCHLD, no child in
// wait or /proc, no descriptor), and the image is the job at the freeze, byte for byte.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { program } from '../helpers/programs.js';
import { uninterruptedOutput } from './reference.js';

const ARGS = ['out.txt', '400', '20', '80'];   // 80 MiB: above the size a snapshot is taken for
// Snapshots are what these tests are about: a copy of the memory before the freeze would
// leave none to take.
const NO_PRECOPY = { CAIRN_PRECOPY: '0' };
const lines = (work: string) => readIf(path.join(work, 'out.txt')).split('\n').filter(Boolean).length;

/** Host pids of every process in the PID namespace of `pid` (the job's: init included). */
function namespaceProcesses(pid: number): number[] {
  const ns = fs.readlinkSync(`/proc/${pid}/ns/pid`);
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (fs.readlinkSync(`/proc/${e}/ns/pid`) === ns) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function restartAndFinish(t: import('ava').ExecutionContext, job: TestJob, reference: Promise<string>): Promise<void> {
  const r = await job.restartScript().exited;
  t.is(r.code, 0, r.stderr);
  const out = readIf(path.join(job.work, 'out.txt'));
  t.false(out.includes('ANOMALY'), out.split('\n').filter((l) => l.includes('ANOMALY')).join('\n'));
  t.is(out, await reference, 'output identical to an uninterrupted run');
}

test('the job runs while its image is written from a snapshot it cannot see; restart is byte-identical', async (t) => {
  const prog = program('cowtrace');
  const reference = uninterruptedOutput([prog, ...ARGS]);
  const job = new TestJob('snapshot');
  t.teardown(() => job.cleanup());
  job.launch([prog, ...ARGS], { env: { ...NO_PRECOPY, CAIRN_TEST_WRITE_DELAY_MS: '3000' } });
  const s = await job.running();
  await waitFor('the program running', () => lines(job.work) > 10, 30_000);
  const main = s.member[0]!.processes[0]!.hostPid;
  const before = namespaceProcesses(main).sort();
  t.is(before.length, 3, 'cairn init, the program and its child');

  let done = false;
  const cp = job.command('--bcheckpoint', '--json').finally(() => (done = true));
  // The pages wait 3 s (a slow disk) before they are written from the snapshots: the program
  // must be running meanwhile. Sampled from the moment both snapshots exist, not after a
  // fixed delay: on a loaded machine the freeze can end later than one expects.
  // Each snapshot's parent and name are read at every poll, and the last reading kept: the
  // first snapshot is gone once its pages are written, which a loaded machine may reach
  // before the samples end, and a snapshot only gets its parent and name while the job is
  // still frozen.
  const seen = new Map<number, { ppid: number; comm: string }>();
  const snapshots = () => {
    const now = namespaceProcesses(main).filter((p) => !before.includes(p));
    for (const p of now) {
      const ppid = Number(/PPid:\s+(\d+)/.exec(readIf(`/proc/${p}/status`))?.[1]);
      const comm = readIf(`/proc/${p}/comm`).trim();
      if (ppid > 0 && comm) seen.set(p, { ppid, comm });
    }
    return now;
  };
  await waitFor('the snapshots taken', () => done || snapshots().length === 2, 30_000);
  const a = lines(job.work);
  await waitFor('the program running on, or the checkpoint done', () => (snapshots(), done || lines(job.work) > a + 2), 30_000);
  const b = lines(job.work);
  t.false(done, 'the checkpoint is still being written');
  t.true(b > a, `the program ran on while its image was written (${a} -> ${b} lines)`);
  // The clone that makes a snapshot (it exits at once, while the job is frozen) may be seen
  // too, under the program's name: the snapshots are those named for what they are in ps.
  const named = [...seen.values()].filter((v) => v.comm === 'cairn-snapshot');
  t.is(named.length, 2, `one snapshot per process, named cairn-snapshot, in the job while the images are written: ${JSON.stringify([...seen.values()])}`);
  const init = Math.min(...before);
  for (const { ppid } of named) t.is(ppid, init, 'a snapshot is a child of cairn init, not of the job');
  const r = await cp;
  t.is(r.code, 0, r.stderr);
  const reply = JSON.parse(r.stdout) as { pauseUs: string; durationUs: string };
  t.true(Number(reply.pauseUs) < Number(reply.durationUs) - 2_000_000, `pause ${reply.pauseUs} us leaves out the writing (${reply.durationUs} us)`);
  t.deepEqual(namespaceProcesses(main).sort(), before, 'no snapshot is left');

  await job.killAll(s);
  await job.launcher!.exited;
  await restartAndFinish(t, job, reference);
});

test('a failure while the images are written leaves the job running and the previous generation latest', async (t) => {
  const prog = program('cowtrace');
  const reference = uninterruptedOutput([prog, ...ARGS]);
  const job = new TestJob('snapfail');
  t.teardown(() => job.cleanup());
  job.launch([prog, ...ARGS], { env: { ...NO_PRECOPY, CAIRN_TEST_FAIL_IN_PHASE: 'WRITTEN:2' } });
  const s = await job.running();
  await waitFor('the program running', () => lines(job.work) > 10, 30_000);
  const main = s.member[0]!.processes[0]!.hostPid;
  const before = namespaceProcesses(main).sort();
  t.is((await job.command('--bcheckpoint')).code, 0);
  const r = await job.command('--bcheckpoint');
  t.not(r.code, 0);
  t.regex(r.stderr, /aborted in WRITTEN: .*failed for a test/);
  t.is(r.stderr.trim().split('\n').length <= 2, true, r.stderr);
  t.is(job.latestGeneration(s.ckptDir), 1, 'generation 1 stays the latest');
  t.false(fs.existsSync(path.join(s.ckptDir, 'gen-000002')), 'nothing of generation 2 is committed');
  const n = lines(job.work);
  await waitFor('the program running on', () => lines(job.work) > n + 5, 10_000);
  await waitFor('the snapshots gone', () => namespaceProcesses(main).length === before.length, 10_000);
  t.deepEqual(namespaceProcesses(main).sort(), before, 'no snapshot is left');

  await job.killAll(s);
  await job.launcher!.exited;
  await restartAndFinish(t, job, reference);
});

test('memory a snapshot cannot hold (MADV_DONTFORK) is written while the job is frozen, and comes back', async (t) => {
  const prog = program('cowtrace');
  const args = [...ARGS, 'dontfork'];
  const reference = uninterruptedOutput([prog, ...args]);
  const job = new TestJob('dontfork');
  t.teardown(() => job.cleanup());
  // Without the copy before the freeze: whether the pages written during a fast copy reach
  // the snapshot's threshold would depend on the copy's speed.
  const launcher = job.launch([prog, ...args], { env: NO_PRECOPY });
  const s = await job.running();
  await waitFor('the program running', () => lines(job.work) > 10, 30_000);
  const r = await job.command('--bcheckpoint');
  t.is(r.code, 0, r.stderr);
  await waitFor('the agent says why', () => launcher.stderr.includes('written while frozen'), 5_000);
  t.regex(launcher.stderr, /process 2 \(cowtrace\): written while frozen: memory marked MADV_DONTFORK/);
  await job.killAll(s);
  await launcher.exited;
  await restartAndFinish(t, job, reference);
});
