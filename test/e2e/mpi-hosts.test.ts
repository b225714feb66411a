// An MPI job over the three hosts of the test bed, under Debian's Open MPI and MPICH: the
// user runs `cairn launch mpirun ...` on node1; mpirun starts its daemons on node2 and node3
// through cairn-rsh, so they and their ranks are members of the same job. Six ranks of
// test/testbed/mpi/ring_sum.c (token ring + allreduce, every value checked, a checksum at
// the end) are checkpointed by hand, killed on every host, restarted on the same hosts by
// cairn_restart.sh with interval checkpoints, killed again after an interval checkpoint,
// and restarted on permuted hosts from a hostfile; ./result must equal that of a run
// without cairn.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { cairnBin, projectRoot } from '../../common/paths.js';
import { cairn, killPid, readIf, waitFor, type RunResult } from '../helpers/cairn.js';
import { requireTestbed, sshAsUser } from '../helpers/cluster.js';
import { mkdirForUser, scratchDir } from '../helpers/scratch.js';
import { shQuote } from '../../coordinator/restart-script.js';

const RANKS = 6;
const HOSTS = ['node1', 'node2', 'node3'];

interface Flavor {
  name: string;
  mpicc: string;
  /** The launcher's command line (run in the job's directory on node1), hostfile given. */
  run: (hostfile: string, prog: string[]) => string[];
  hostfile: string;
  env: string;
  /** ring_sum arguments: iterations, microseconds of sleep per iteration, doubles, beat. */
  args: string[];
}

const mpiDir = () => path.join(projectRoot(), 'test', 'testbed', 'mpi');

const OPENMPI: Flavor = {
  name: 'openmpi',
  mpicc: '/usr/bin/mpicc.openmpi',
  run: (hf, prog) => ['/usr/bin/mpirun.openmpi', '--hostfile', hf, '-np', String(RANKS), ...prog],
  hostfile: HOSTS.map((h) => `${h} slots=2\n`).join(''),
  env: 'openmpi.env',
  // ~1000 iterations/s without sleep: about 40 s with 10 ms per iteration.
  args: ['4000', '10000', '512', '100'],
};

const MPICH: Flavor = {
  name: 'mpich',
  mpicc: '/usr/bin/mpicc.mpich',
  run: (hf, prog) => ['/usr/bin/mpiexec.mpich', '-f', hf, '-n', String(RANKS), ...prog],
  hostfile: HOSTS.map((h) => `${h}:2\n`).join(''),
  env: 'mpich.env',
  // MPICH (ch4:ucx) busy-polls: 6 ranks on 2 cores make ~10-15 iterations/s.
  args: ['450', '0', '512', '10'],
};

class MpiJob {
  readonly dir: string;
  readonly ckpt: string;
  readonly portFile: string;
  private remove: () => void;
  private pids = new Set<number>();

  constructor(readonly f: Flavor, name: string) {
    const s = scratchDir(`cairn-mpi-${f.name}-${name}-`);
    this.dir = s.dir;
    this.remove = s.remove;
    this.ckpt = mkdirForUser(path.join(this.dir, 'ckpt'));
    this.portFile = path.join(this.dir, 'port');
    fs.writeFileSync(path.join(this.dir, 'hostfile'), f.hostfile, { mode: 0o644 });
  }

  /** A command line run on node1 in the job's directory, with the flavor's settings. */
  onNode1(argv: string[], timeoutMs: number): Promise<RunResult> {
    const env = path.join(mpiDir(), this.f.env);
    return sshAsUser('node1', `cd ${shQuote(this.dir)} && . ${shQuote(env)} && exec ${argv.map(shQuote).join(' ')}`, timeoutMs);
  }

  mpirun(prog: string): string[] {
    return this.f.run(path.join(this.dir, 'hostfile'), [prog, ...this.f.args]);
  }

  cairnArgs(sub: string, ...args: string[]): string[] {
    return [process.execPath, cairnBin(), sub, '--coord-port', '0', '--port-file', this.portFile, '--ckptdir', this.ckpt, ...args];
  }

  /** `cairn command` from this host to the coordinator on node1. */
  command(...args: string[]): Promise<RunResult> {
    return cairn(['command', '--coord-host', 'node1', '--port-file', this.portFile, '--ckptdir', this.ckpt, ...args], { cwd: this.dir });
  }

  async status(): Promise<StatusJson> {
    const r = await this.command('--status', '--json');
    if (r.code !== 0) throw new Error(`status: ${r.stderr}`);
    const s = JSON.parse(r.stdout) as StatusJson;
    this.pids.add(s.coordinatorPid);
    for (const m of s.member) for (const p of [{ hostPid: m.agentPid }, ...m.processes]) this.pids.add(p.hostPid);
    return s;
  }

  /** Waits for the job on every host with every rank, and returns its status. */
  async allRanks(): Promise<StatusJson> {
    let s: StatusJson | undefined;
    for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((r) => setTimeout(r, 500))) {
      await waitFor('the port file', () => readIf(this.portFile).trim() !== '', 60_000);
      s = await this.status().catch(() => undefined);
      if (s && ranksByHost(s).flat().length === RANKS) return s;
    }
    throw new Error(`the job did not show ${RANKS} ranks: ${JSON.stringify(s)}`);
  }

  heartbeats(): number {
    return readIf(path.join(this.dir, 'heartbeat')).split('\n').filter(Boolean).length;
  }

  result(): string {
    return readIf(path.join(this.dir, 'result'));
  }

  latest(): number {
    const jobs = fs.readdirSync(this.ckpt).filter((n) => fs.existsSync(path.join(this.ckpt, n, 'latest')));
    if (jobs.length !== 1) return 0;
    return Number(/gen-(\d+)/.exec(fs.readlinkSync(path.join(this.ckpt, jobs[0]!, 'latest')))?.[1] ?? 0);
  }

  /** kill -9 of the coordinator, every agent and every job process seen, on every host. */
  killAll(): void {
    for (const p of this.pids) killPid(p);
    this.pids.clear();
  }

  async cleanup(): Promise<void> {
    await this.command('--quit').catch(() => undefined);
    this.killAll();
    this.remove();
  }
}

interface StatusJson {
  lastGeneration: number;
  coordinatorPid: number;
  member: Array<{ host: string; agentPid: number; processes: Array<{ hostPid: number; comm: string; rank: string }> }>;
}

/** The ranks each of node1..3 holds, sorted. */
function ranksByHost(s: StatusJson): number[][] {
  return HOSTS.map((h) => s.member.filter((m) => m.host === h).flatMap((m) => m.processes.filter((p) => p.rank !== '').map((p) => Number(p.rank))).sort((a, b) => a - b));
}

/** ring_sum built as the test user, on the shared filesystem every node sees. */
async function build(t: import('ava').ExecutionContext, f: Flavor, dir: string): Promise<string> {
  if (!fs.existsSync(f.mpicc)) throw new Error(`${f.mpicc} is missing: install the MPI packages (scripts/setup-debian.sh)`);
  const prog = path.join(dir, `ring_sum.${f.name}`);
  const cc = await sshAsUser('node1', `${f.mpicc} -O2 -o ${shQuote(prog)} ${shQuote(path.join(mpiDir(), 'ring_sum.c'))}`, 120_000);
  t.is(cc.code, 0, cc.stderr);
  return prog;
}

async function checkpointedTwiceAndMoved(t: import('ava').ExecutionContext, f: Flavor) {
  requireTestbed();
  const ref = new MpiJob(f, 'ref');
  const job = new MpiJob(f, 'job');
  t.teardown(() => Promise.all([ref.cleanup(), job.cleanup()]));
  const prog = await build(t, f, job.dir);

  // The reference: the same program without cairn, to the end.
  const r0 = await ref.onNode1(ref.mpirun(prog), 300_000);
  t.is(r0.code, 0, r0.stderr);
  const expected = ref.result();
  t.regex(expected, new RegExp(`RING SUM OK size=${RANKS} `));

  // 1. Launched by cairn on node1; mpirun's daemons join from node2 and node3.
  const run1 = job.onNode1(job.cairnArgs('launch', '--', ...job.mpirun(prog)), 600_000);
  const s1 = await job.allRanks();
  t.deepEqual(ranksByHost(s1), [[0, 1], [2, 3], [4, 5]], 'cairn command --status: two ranks on each host');
  await waitFor('the ring to get going', () => job.heartbeats() >= 3, 120_000, 200);
  const cp1 = await job.command('--bcheckpoint');
  t.is(cp1.code, 0, cp1.stderr);
  t.is(job.result(), '', 'checkpointed mid-run');
  await job.status();
  job.killAll();
  const end1 = await run1;
  t.not(end1.code, 0, 'killed');

  // 2. Back on the same hosts with cairn_restart.sh, with interval checkpoints; killed
  // again once one was made.
  fs.rmSync(job.portFile, { force: true });
  const gen1 = job.latest();
  const run2 = job.onNode1(['sh', path.join(job.ckpt, 'cairn_restart.sh'), '--interval', '4'], 600_000);
  const s2 = await job.allRanks();
  t.deepEqual(ranksByHost(s2), [[0, 1], [2, 3], [4, 5]], 'restarted on the same hosts');
  await waitFor('an interval checkpoint after the restart', () => job.latest() > gen1, 120_000, 200);
  t.is(job.result(), '', 'checkpointed mid-run again');
  await job.status();
  job.killAll();
  await run2;

  // 3. Back on permuted hosts, as a user does with a hostfile of the new hosts in the
  // order of the old ones: node1's processes on node2, node2's on node3, node3's on node1.
  fs.rmSync(job.portFile, { force: true });
  const moved = path.join(job.dir, 'hosts.moved');
  fs.writeFileSync(moved, 'node2\nnode3\nnode1\n', { mode: 0o644 });
  const jobDir = path.dirname(fs.realpathSync(path.join(job.ckpt, fs.readdirSync(job.ckpt).find((n) => fs.existsSync(path.join(job.ckpt, n, 'latest')))!, 'latest')));
  const run3 = job.onNode1(job.cairnArgs('restart', '--hostfile', moved, jobDir), 600_000);
  const s3 = await job.allRanks();
  // --status names each member by its agent's host (the processes keep their old hostname).
  t.deepEqual(ranksByHost(s3), [[4, 5], [0, 1], [2, 3]], "node1's ranks on node2, node2's on node3, node3's on node1");
  const end3 = await run3;
  t.is(end3.code, 0, end3.stderr.slice(-2000));
  t.is(job.result(), expected, 'the result of an uninterrupted run');
}

test.serial('Open MPI, 6 ranks on 3 hosts: checkpointed, killed everywhere, restarted on the same and then on permuted hosts, ends with the checksum of an uninterrupted run', async (t) => {
  await checkpointedTwiceAndMoved(t, OPENMPI);
});

test.serial('MPICH, 6 ranks on 3 hosts: checkpointed, killed everywhere, restarted on the same and then on permuted hosts, ends with the checksum of an uninterrupted run', async (t) => {
  await checkpointedTwiceAndMoved(t, MPICH);
});
