// What goes wrong with a job of several processes: a member killed in the middle of a
// checkpoint, and something shared between processes that cairn cannot share again. Either
// way the checkpoint fails in one line, the previous generation stays latest, no partial
// directory is left, and the job runs on with its data intact.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../common/paths.js';
import { childrenOf, partialImageStarted, readIf, waitFor } from '../helpers/cairn.js';
import { oneLineError } from '../helpers/damage.js';
import { TestJob } from '../helpers/job.js';
import { program } from '../helpers/programs.js';

const lines = (f: string) => readIf(f).split('\n').filter((l) => l.startsWith('step')).length;

test('a member process killed while images are written aborts the checkpoint; the others run on intact', async (t) => {
  const job = new TestJob('treeabort');
  t.teardown(() => job.cleanup());
  const out = path.join(job.work, 'out.txt');
  // The images are written after the thaw (from snapshots): not copied before the freeze.
  const runner = job.launch([program('family'), 'out.txt', '60', '100', '768'], { env: { CAIRN_PRECOPY: '0' } });
  const s = await job.running();
  const first = await job.command('--bcheckpoint');
  t.is(first.code, 0, first.stderr);
  const main = s.member[0]!.processes[0]!.hostPid;
  const [child] = childrenOf(main);
  t.truthy(child, 'the job has its child');
  job.remember(child!);
  const pending = job.command('--bcheckpoint');
  await waitFor('images being written', () => partialImageStarted(s.ckptDir), 30_000, 5);
  process.kill(child!, 'SIGKILL');
  const r = await pending;
  oneLineError(t, r, /checkpoint failed: .*process \d+ \(family\) died during the checkpoint/);
  t.is(job.latestGeneration(s.ckptDir), 1, 'the previous generation stays latest');
  t.is(fs.readdirSync(s.ckptDir).filter((d) => d.includes('partial')).length, 0, 'no partial generation left');
  const before = lines(out);
  await waitFor('the main process to go on', () => lines(out) > before + 3, 10_000);
  const end = await runner.exited;
  t.is(end.code, 0, end.stderr);
  const text = readIf(out);
  t.is(lines(out), 60, 'every step written once');
  t.regex(text, /child: signal 9\ndone\n$/, 'the parent saw its child killed');
});

// The abort path exactly: a member process exits during DRAINED (a test knob of the
// agent kills the job's newest process there, as a crash would at that moment).
test('a member process that dies during DRAINED aborts the checkpoint; the others resume with their data intact', async (t) => {
  const job = new TestJob('drainabort');
  t.teardown(() => job.cleanup());
  const out = path.join(job.work, 'out.txt');
  const runner = job.launch([program('family'), 'out.txt', '40', '100', '768'], { env: { CAIRN_TEST_KILL_IN_PHASE: 'DRAINED' } });
  const s = await job.running();
  await waitFor('the first steps', () => lines(out) >= 3, 10_000);
  const main = s.member[0]!.processes[0]!.hostPid;
  const [child] = childrenOf(main);
  t.truthy(child, 'the job has its child');
  job.remember(child!);
  const r = await job.command('--bcheckpoint');
  oneLineError(t, r, /checkpoint failed: checkpoint aborted in DRAINED: .*process \d+ \(family\) died during the checkpoint/);
  t.is(job.latestGeneration(s.ckptDir), 0, 'no generation written');
  t.is(fs.readdirSync(s.ckptDir).filter((d) => d.includes('partial')).length, 0, 'no partial generation left');
  const end = await runner.exited;
  t.is(end.code, 0, end.stderr);
  t.is(lines(out), 40, 'every step written once');
  t.regex(readIf(out), /child: signal 9\ndone\n$/, 'the parent saw its child killed, and went on');
});

test('an eventfd shared by parent and child is refused at checkpoint, naming it; the job runs on', async (t) => {
  const job = new TestJob('treeshare');
  t.teardown(() => job.cleanup());
  const out = path.join(job.work, 'out.txt');
  // 10 s of steps: the refused checkpoint must find the job still running on a loaded machine.
  const runner = job.launch([program('family'), 'out.txt', '100', '100', '1', 'eventfd']);
  const s = await job.running();
  await waitFor('the first steps', () => lines(out) >= 2, 10_000);
  const r = await job.command('--bcheckpoint');
  oneLineError(t, r, /pid \d+ \(family\).*fd 3 .*eventfd.*shared with other processes is not supported/);
  t.is(job.latestGeneration(s.ckptDir), 0, 'no generation written');
  const end = await runner.exited;
  t.is(end.code, 0, end.stderr);
  t.is(lines(out), 100, 'the job finished every step');
});

// A writer blocked on a full TCP buffer whose drained bytes do not all fit back at once
// (test knobs: 4 KiB at once, and a reader that makes no room for 6 s) stays held, as if
// still blocked in write(), while the agent sends them: the checkpoint does not wait for
// that, the next one is refused while they are owed (naming the process), a later one
// succeeds, and the reader finally gets every byte in order.
test.serial('bytes in flight that do not fit back hold their writer without holding up the checkpoint; a checkpoint meanwhile is refused; nothing is lost', async (t) => {
  const job = new TestJob('held-writer');
  t.teardown(() => job.cleanup());
  const bin = path.join(job.root, 'tcp_blocked_sender');
  execFileSync('gcc', ['-O1', '-Wall', '-pthread', '-o', bin, path.join(projectRoot(), 'test', 'conformance', 'tcp_blocked_sender.c')]);
  fs.chmodSync(job.root, 0o755);
  const runner = job.launch([bin], { env: { CAIRN_TEST_REFILL_AT_ONCE: '4096', CAIRN_TEST_PUMP_AFTER_MS: '6000' } });
  await job.running();
  await waitFor('the writer to block', () => fs.existsSync(path.join(job.work, 'ready')), 30_000);
  const first = await job.command('--bcheckpoint');
  t.is(first.code, 0, first.stderr);
  const meanwhile = await job.command('--bcheckpoint');
  oneLineError(t, meanwhile, /still has TCP bytes in flight .*try again later/);
  let later = meanwhile;
  for (const end = Date.now() + 60_000; later.code !== 0 && Date.now() < end; await new Promise((r) => setTimeout(r, 500))) later = await job.command('--bcheckpoint');
  t.is(later.code, 0, `a checkpoint once the bytes are sent: ${later.stderr}`);
  fs.writeFileSync(path.join(job.work, 'go'), '');
  const r = await runner.exited;
  t.is(r.code, 0, r.stderr);
});
