// A bigmem job (test/programs/bigmem.c) checkpointed once and killed, and its restart with
// the restorer's log kept: the tests of how a large memory comes back.
import type { ExecutionContext } from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { cairnBackground, readIf, waitFor, type Background } from './cairn.js';
import type { TestJob } from './job.js';
import { program } from './programs.js';

/** Launches `bigmem out.txt MIB KIND` (checking its memory every 200 ms), checkpoints it
 * once its memory is filled and kills it; the committed generation directory. */
export async function checkpointedBigmem(t: ExecutionContext, job: TestJob, mib: number, kind: string): Promise<string> {
  job.launch([program('bigmem'), 'out.txt', String(mib), kind, '100000', '200']);
  const s = await job.running();
  await waitFor('the memory to be filled', () => readIf(path.join(job.work, 'out.txt')).includes('ready'), 60_000);
  t.is((await job.command('--bcheckpoint')).code, 0);
  await job.killAll(s);
  await job.launcher!.exited;
  return path.join(s.ckptDir, 'gen-000001');
}

export interface RestartedBigmem {
  restarted: Background;
  /** The restorer's log of this restart. */
  log: () => string;
}

/** Restarts `target` in the background with the restorer's log kept, and waits until the
 * job has checked its memory once; fails the test if a check says BAD. */
export async function restartBigmem(t: ExecutionContext, job: TestJob, target: string): Promise<RestartedBigmem> {
  const out = path.join(job.work, 'out.txt');
  const before = readIf(out).length;
  const log = path.join(job.work, 'restorer.log');
  fs.rmSync(job.portFile, { force: true });
  const restarted = cairnBackground(['restart', '--coord-port', '0', '--port-file', job.portFile, target], { cwd: job.work, env: { CAIRN_RESTORER_LOG: log } });
  job.launcher = restarted;
  const checks = () => readIf(out).slice(before);
  await waitFor('the restarted job to check its memory', () => /ok \d+/.test(checks()), 60_000);
  t.false(checks().includes('BAD'), checks());
  return { restarted, log: () => readIf(log) };
}
