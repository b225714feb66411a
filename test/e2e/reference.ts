// Reference output: the same program under cairn, never interrupted.
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
