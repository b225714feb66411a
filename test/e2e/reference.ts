// Reference output: the same program under cairn, never interrupted.
import type { ExecutionContext } from 'ava';
import path from 'node:path';
import { readIf } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';

export async function uninterruptedOutput(argv: string[], outFile = 'out.txt'): Promise<string> {
  const ref = new TestJob('ref');
  try {
    const r = await ref.launch(argv).exited;
    if (r.code !== 0) throw new Error(`reference run failed (${r.code}): ${r.stderr}`);
    return readIf(path.join(ref.work, outFile));
  } finally {
    await ref.cleanup();
  }
}

/** The job restarted from its cairn_restart.sh (its processes killed already) runs to its
 * end and leaves exactly the reference's output. */
export async function restartsIdentical(t: ExecutionContext, job: TestJob, reference: Promise<string>, outFile = 'out.txt'): Promise<void> {
  const r = await job.restartScript().exited;
  t.is(r.code, 0, r.stderr);
  t.is(readIf(path.join(job.work, outFile)), await reference, 'output identical to an uninterrupted run');
}
