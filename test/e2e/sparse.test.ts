// Sparse memory across a checkpoint.
//
// A process with a huge, mostly empty reservation (1 TiB, MAP_NORESERVE: sanitizers' shadow
// memory, some runtimes' heaps) beside ordinary memory large enough to be copied before the
// freeze. Tracking written pages must not write-protect the reservation (its page tables
// would take 2 GiB), and a restart must map it again as it was (MAP_NORESERVE: 1 TiB does
// not fit in memory otherwise).
import test from 'ava';
import path from 'node:path';
import { readIf, waitFor } from '../helpers/cairn.js';
import { checkpointedBigmem, restartBigmem } from '../helpers/bigmem.js';
import { TestJob } from '../helpers/job.js';
import { program } from '../helpers/programs.js';
import { restartsIdentical, uninterruptedOutput } from './reference.js';

const ARGS = ['out.txt', '1024', '96', '400', '20'];
const steps = (work: string) => readIf(path.join(work, 'out.txt')).split('\n').filter((l) => l.startsWith('step')).length;
const pageTablesKiB = (pid: number) => Number(/VmPTE:\s+(\d+) kB/.exec(readIf(`/proc/${pid}/status`))?.[1] ?? NaN);

test('a 1 TiB sparse reservation: two checkpoints leave its page tables small, and it restarts byte-identical', async (t) => {
  const prog = program('sparse');
  const reference = uninterruptedOutput([prog, ...ARGS]);
  const job = new TestJob('sparse');
  t.teardown(() => job.cleanup());
  const launcher = job.launch([prog, ...ARGS]);
  const s = await job.running();
  const pid = s.member[0]!.processes[0]!.hostPid;
  for (let g = 1; g <= 2; g++) {
    const n = steps(job.work);
    await waitFor('a few steps', () => steps(job.work) > n + 20, 20_000);
    const r = await job.command('--bcheckpoint', '--json');
    t.is(r.code, 0, r.stderr);
    if (g === 1) t.true(Number((JSON.parse(r.stdout) as { writes: Array<{ precopied: string }> }).writes[0]!.precopied) > 64 * 2 ** 20, 'its dense memory was copied before the freeze');
  }
  const kib = pageTablesKiB(pid);
  t.true(kib < 64 * 1024, `page tables of ${kib} KiB after two checkpoints`);
  t.true(steps(job.work) < 400, 'checkpointed before the end');
  await job.killAll(s);
  await launcher.exited;
  await restartsIdentical(t, job, reference);
});

// A process larger than the restorer's readers take at once (8 chunks of 64 MiB), half of it
// zero pages: threads fault its memory in ahead of the readers, and must leave its zero pages
// (holes in the image) as they were, never faulted in.
test('a 768 MiB process, half zero pages, is read in with threads faulting in ahead: its memory checks out and its zero pages stay out of memory', async (t) => {
  const job = new TestJob('halfzero');
  t.teardown(() => job.cleanup());
  // bigmem mixed: 1 MiB random, 1 MiB zeros, ..., and every 8th page of the random MiBs zero
  const gen = await checkpointedBigmem(t, job, 768, 'mixed');
  const { restarted, log } = await restartBigmem(t, job, gen);
  const filled = /(\d+) chunks filled by \d+ threads \((\d+) reading, (\d+) faulting in ahead\)/.exec(log());
  t.truthy(filled, log());
  t.true(Number(filled?.[1]) > 8 && Number(filled?.[2]) === 8 && Number(filled?.[3]) >= 1, `eight readers and at least one thread ahead of them: ${filled?.[0]}`);
  // 768 MiB * 1/2 * 7/8 = 336 MiB of pages with data; the zero pages come back unmapped.
  const r = await job.running();
  const rssMiB = Number(/^VmRSS:\s+(\d+)/m.exec(readIf(`/proc/${r.member[0]!.processes[0]!.hostPid}/status`))?.[1] ?? NaN) / 1024;
  t.true(rssMiB >= 336 && rssMiB < 420, `resident after the restart: ${rssMiB.toFixed(0)} MiB`);
  t.is((await job.command('--kill')).code, 0);
  await restarted.exited;
});
