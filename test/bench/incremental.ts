// Incremental checkpoints: a process of `mib` MiB that writes 1% of its pages between two
// checkpoints; the second checkpoint's image beside the first (full) one.
import fs from 'node:fs';
import path from 'node:path';
import { readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { diskUsage } from './util.js';

export interface IncrementalRow {
  mib: number;
  full: { checkpointS: number; pauseS: number; bytes: number };
  incremental: { checkpointS: number; pauseS: number; bytes: number };
}

export async function incrementalCheckpoint(touch: string, mib: number): Promise<IncrementalRow> {
  const job = new TestJob('bench-incremental');
  try {
    job.launch([touch, 'out.txt', '1000000', '50', String(mib), '10']);
    await job.running();
    const lines = () => readIf(path.join(job.work, 'out.txt')).split('\n').length;
    await waitFor(`${mib} MiB: memory built`, () => lines() > 2, 300_000, 20);
    const one = async () => {
      const n = lines();
      await waitFor('a few steps', () => lines() > n + 3, 60_000, 20);
      const r = await job.command('--bcheckpoint', '--json');
      if (r.code !== 0) throw new Error(`incremental bench: checkpoint failed: ${r.stderr}`);
      const reply = JSON.parse(r.stdout) as { durationUs: string; pauseUs: string; genDir: string };
      return { checkpointS: Number(reply.durationUs) / 1e6, pauseS: Number(reply.pauseUs) / 1e6, bytes: diskUsage(fs.realpathSync(reply.genDir)).onDisk };
    };
    const full = await one();
    const incremental = await one();
    await job.command('--kill');
    await job.launcher!.exited;
    return { mib, full, incremental };
  } finally {
    await job.cleanup();
  }
}
