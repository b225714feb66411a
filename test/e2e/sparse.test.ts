// A process with a huge, mostly empty reservation (1 TiB, MAP_NORESERVE: sanitizers' shadow
// memory, some runtimes' heaps) beside ordinary memory large enough to be copied before the
// freeze. Tracking written pages must not write-protect the reservation (its page tables
// would take 2 GiB), and a restart must map it again as it was (MAP_NORESERVE: 1 TiB does
// not fit in memory otherwise).
import test from 'ava';
import path from 'node:path';
import { readIf, waitFor } from '../helpers/cairn.js';
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
