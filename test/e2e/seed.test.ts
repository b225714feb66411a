// The seed scenario of our users' how-to: a long compute program checkpointed every N
// seconds, killed with kill -9 together with its coordinator, restarted with
// cairn_restart.sh, finishes with exactly the output of an uninterrupted run.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { program } from '../helpers/programs.js';

const STEPS = '60';
const STEP_MS = '250';

/** The reference: the same program under cairn, never interrupted. */
async function uninterrupted(prog: string): Promise<string> {
  const ref = new TestJob('ref');
  try {
    const r = await ref.launch([prog, 'out.txt', STEPS, STEP_MS]).exited;
    if (r.code !== 0) throw new Error(`reference run failed: ${r.stderr}`);
    return readIf(path.join(ref.work, 'out.txt'));
  } finally {
    await ref.cleanup();
  }
}

test('interval checkpoints, kill -9 of job and coordinator, cairn_restart.sh: byte-identical output, same pid', async (t) => {
  const prog = program('counter');
  const reference = uninterrupted(prog);
  const job = new TestJob('seed');
  t.teardown(() => job.cleanup());
  const launcher = job.launch([prog, 'out.txt', STEPS, STEP_MS], { interval: 2 });
  const s = await job.running();
  t.is(s.member[0]!.processes[0]!.nsPid, 2, 'the program is PID 2 of its namespace (cairn init is 1)');
  await waitFor('two interval checkpoints', () => job.latestGeneration(s.ckptDir) >= 2, 30_000);
  const before = readIf(path.join(job.work, 'out.txt')).split('\n').filter(Boolean).length;
  t.true(before < 60, 'killed before the end');
  await job.killAll(s);
  const l = await launcher.exited;
  t.is(l.code, 137, 'cairn launch exits with the status of its killed program');

  t.true(fs.existsSync(path.join(job.ckpt, 'cairn_restart.sh')));
  const st = fs.statSync(path.join(job.ckpt, '.cairn-secret'));
  t.is(st.mode & 0o777, 0o600, 'the job secret is private');
  const r = await job.restartScript().exited;
  t.is(r.code, 0, r.stderr);

  const out = readIf(path.join(job.work, 'out.txt'));
  t.is(out, await reference, 'output identical to an uninterrupted run');
  t.false(out.includes('CLOCK WENT BACKWARDS'));
  const pids = new Set([...out.matchAll(/pid (\d+)/g)].map((m) => m[1]));
  t.deepEqual([...pids], ['2'], 'getpid() is the same before and after the restart');
});
