// Memory copied before the freeze: a large process's pages go to its image while it runs,
// and the frozen phases store only what it wrote meanwhile. A process writing much of its
// memory all the time restarts exactly where the checkpoint saw it, from full, incremental
// and compressed generations alike.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { childrenOf, partialImageStarted, readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { program } from '../helpers/programs.js';
import { restartsIdentical, uninterruptedOutput } from './reference.js';

const MIB = 128;
// 30% of its pages written at every step, with no pause between steps.
const ARGS = ['out.txt', '1500', '0', String(MIB), '300'];
const lines = (work: string) => readIf(path.join(work, 'out.txt')).split('\n').filter(Boolean).length;

interface Reply { ok: boolean; generation: number; writes: Array<{ bytes: string; precopied: string }> }

const cases = [
  { gen: 1, what: 'a full' },
  { gen: 3, what: 'an incremental' },
  // Compressed images are full every time: each is copied whole before the freeze, and the
  // pages written meanwhile go to frames of their own after the copy's.
  { gen: 2, what: 'a zstd-compressed', compress: 'zstd' },
];
for (const { gen, what, compress } of cases) {
  test(`a process writing its memory all along restarts byte-identical from generation ${gen} of ${what} checkpoint copied before the freeze`, async (t) => {
    const prog = program('touch');
    const reference = uninterruptedOutput([prog, ...ARGS]);
    const job = new TestJob(`precopy${gen}${compress ?? ''}`);
    t.teardown(() => job.cleanup());
    const launcher = job.launch([prog, ...ARGS]);
    const s = await job.running();
    await waitFor('the program running', () => lines(job.work) > 20, 60_000);
    for (let g = 1; g <= gen; g++) {
      const n = lines(job.work);
      await waitFor('a few steps', () => lines(job.work) > n + 10, 20_000);
      const r = await job.command('--bcheckpoint', '--json', ...(compress ? ['--compress', compress] : []));
      t.is(r.code, 0, r.stderr);
      const reply = JSON.parse(r.stdout) as Reply;
      t.is(reply.generation, g);
      const pre = Number(reply.writes[0]!.precopied);
      // All of it the first time; what it wrote since the last checkpoint, later.
      if (g === 1 || compress) t.true(pre >= MIB * 2 ** 20, `generation ${g}: ${pre} bytes copied before the freeze`);
      else t.true(pre > 0, `generation ${g}: ${pre} bytes copied before the freeze`);
      if (g === 1 && !compress) {
        // Its hot pages were written again during the copy and stored again while frozen:
        // their first copy is a hole in the image, which takes about its memory on disk.
        const dir = path.join(s.ckptDir, 'gen-000001');
        const onDisk = fs.readdirSync(dir).filter((f) => f.endsWith('.cimg')).reduce((n, f) => n + fs.statSync(path.join(dir, f)).blocks * 512, 0);
        t.true(onDisk < MIB * 2 ** 20 * 1.15, `generation 1 takes ${onDisk} bytes on disk for ${MIB} MiB`);
      }
    }
    t.true(lines(job.work) < 1500, 'checkpointed before the end');
    await job.killAll(s);
    await launcher.exited;
    await restartsIdentical(t, job, reference);
  });
}

test('a process that exits while its memory is copied before the freeze leaves no image in the generation', async (t) => {
  const job = new TestJob('precopyexit');
  t.teardown(() => job.cleanup());
  const out = path.join(job.work, 'out.txt');
  // PRECOPIED lasts 3 s more than the copies: the child dies during its copy or after it,
  // before the freeze, however slow the machine.
  // The main process steps for 40 s: the freeze must come before it ends, after the child's
  // memory is built (~2 s here), its copy started, and the 3 s, on a loaded machine too (20 s
  // were not enough once under CI: the job ended before its freeze).
  const runner = job.launch([program('family'), 'out.txt', '400', '100', '768'], { env: { CAIRN_TEST_PRECOPY_DELAY_MS: '3000' } });
  const s = await job.running();
  const main = s.member[0]!.processes[0]!.hostPid;
  const child = childrenOf(main)[0];
  t.truthy(child, 'the job has its child');
  job.remember(child!);
  // Its memory built first: a child under 64 MiB when the checkpoint starts is not copied
  // before the freeze but written while frozen, where its death aborts the checkpoint.
  const rssKiB = () => Number(/^VmRSS:\s+(\d+)/m.exec(readIf(`/proc/${child}/status`))?.[1] ?? 0);
  await waitFor('the child to touch its memory', () => rssKiB() >= 760 * 1024, 60_000);
  const pending = job.command('--bcheckpoint', '--json');
  // The child's image appears as its copy starts, long before the job is frozen.
  await waitFor('the child being copied', () => partialImageStarted(s.ckptDir), 30_000, 2);
  process.kill(child!, 'SIGKILL');
  const r = await pending;
  t.is(r.code, 0, `the job without its child is checkpointed: ${r.stderr}`);
  const gen = path.join(s.ckptDir, 'gen-000001');
  const files = fs.readdirSync(gen).filter((f) => f.endsWith('.cimg'));
  t.is(files.length, 1, `one image, the parent's: ${files.join(' ')}`);
  // The main process goes on to its last step, however long the checkpoint took.
  const end = await runner.exited;
  t.is(end.code, 0, end.stderr);
  t.is(readIf(out).split('\n').filter((l) => l.startsWith('step')).length, 400, 'every step of the main process');
  t.regex(readIf(out), /child: signal 9\ndone\n$/, 'the parent saw its child killed');
});
