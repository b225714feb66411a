// An MPI job's checkpoint across the test bed's three hosts (Open MPI, 6 ranks of
// ring_sum with large messages), beside the slowest host's own image writing in the same
// checkpoint: what the barrier, the draining of connections between hosts and the
// coordinator add on top of the dumps themselves.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clusterScript } from '../helpers/cluster.js';
import { buildRingSum, MpiJob, OPENMPI, RANKS } from '../helpers/mpi.js';
import { testUser } from '../helpers/user.js';
import { median } from './util.js';

export interface MpiCheckpoint {
  runs: number;
  ranks: number;
  hosts: number;
  bytes: number;
  /** The checkpoint as the coordinator measures it (freeze on every host to thaw). */
  checkpointS: number;
  pauseS: number;
  /** The slowest member's own image writing in the same checkpoint, and its host. */
  slowestWriteS: number;
  slowestHost: string;
}

/** Open MPI's session directories of the test user on the test bed's hosts (they share
 * /tmp): a job ended by --kill cannot remove its own. */
function ompiSessions(): string[] {
  const mine = new RegExp(`^ompi\\.node\\d+\\.${testUser().uid}$`);
  return fs.readdirSync(os.tmpdir()).filter((e) => mine.test(e));
}

function bedUp(): boolean {
  try {
    execFileSync(clusterScript(), ['status'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** undefined (and why) when the test bed is not up and cannot be brought up here. */
export async function mpiCheckpoint(runs: number, notes: string[]): Promise<MpiCheckpoint | undefined> {
  let broughtUp = false;
  if (!bedUp()) {
    if (process.getuid?.() !== 0) {
      notes.push('MPI across hosts skipped: the test bed is not up (as root: CLUSTER_USER=<user> test/testbed/cluster.sh up)');
      return undefined;
    }
    const up = spawnSync(clusterScript(), ['up'], { stdio: 'inherit', env: { ...process.env, CLUSTER_USER: testUser().name } });
    if (up.status !== 0) throw new Error('the multi-host test bed did not come up (test/testbed/cluster.sh up)');
    broughtUp = true;
  }
  // 3 MiB messages (three buffers per rank) and a slow ring: ~10 MiB per rank to write.
  const f = { ...OPENMPI, args: ['1000000', '20000', String(384 * 1024), '100'] };
  const job = new MpiJob(f, 'bench');
  const sessionsBefore = new Set(ompiSessions());   // the bench runs no other MPI job meanwhile
  try {
    const prog = await buildRingSum(f, job.dir);
    const run = job.onNode1(job.cairnArgs('launch', '--', ...job.mpirun(prog)), 600_000);
    await job.allRanks();
    const d: number[] = [], p: number[] = [], w: number[] = [];
    let bytes = 0;
    let slowestHost = '';
    for (let i = 0; i < runs; i++) {
      const r = await job.command('--bcheckpoint', '--json');
      if (r.code !== 0) throw new Error(`MPI checkpoint failed: ${r.stderr}`);
      const reply = JSON.parse(r.stdout) as { durationUs: string; pauseUs: string; bytes: string; writes: Array<{ host: string; writeUs: string }> };
      d.push(Number(reply.durationUs) / 1e6);
      p.push(Number(reply.pauseUs) / 1e6);
      const slowest = reply.writes.reduce((a, b) => (Number(b.writeUs) > Number(a.writeUs) ? b : a));
      w.push(Number(slowest.writeUs) / 1e6);
      slowestHost = slowest.host;
      bytes = Number(reply.bytes);
    }
    await job.command('--kill');
    await run;
    return { runs, ranks: RANKS, hosts: 3, bytes, checkpointS: median(d), pauseS: median(p), slowestWriteS: median(w), slowestHost };
  } finally {
    await job.cleanup();
    for (const e of ompiSessions()) if (!sessionsBefore.has(e)) fs.rmSync(path.join(os.tmpdir(), e), { recursive: true, force: true });
    if (broughtUp) spawnSync(clusterScript(), ['down'], { stdio: 'inherit', env: { ...process.env, CLUSTER_USER: testUser().name } });
  }
}
