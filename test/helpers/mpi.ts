// An MPI job of test/testbed/mpi/ring_sum.c over the three hosts of the test bed, started
// by `cairn launch` on node1 (mpirun/mpiexec there, daemons on node2 and node3 through
// cairn-rsh): its directories, its commands from this host, its status by host and rank.
// Used by test/e2e/mpi-hosts.test.ts and the benchmark.
import fs from 'node:fs';
import path from 'node:path';
import { cairnBin, projectRoot } from '../../common/paths.js';
import { shQuote } from '../../coordinator/restart-script.js';
import { alive, cairn, killPid, readIf, waitFor, type RunResult } from './cairn.js';
import { sshAsUser } from './cluster.js';
import { mkdirForUser, scratchDir } from './scratch.js';

export const RANKS = 6;
const SHIM = 'libucx_noflush_disconnect.so';
export const HOSTS = ['node1', 'node2', 'node3'];

export interface Flavor {
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

export const OPENMPI: Flavor = {
  name: 'openmpi',
  mpicc: '/usr/bin/mpicc.openmpi',
  run: (hf, prog) => ['/usr/bin/mpirun.openmpi', '--hostfile', hf, '-np', String(RANKS), ...prog],
  hostfile: HOSTS.map((h) => `${h} slots=2\n`).join(''),
  env: 'openmpi.env',
  // ~1000 iterations/s without sleep: about 40 s with 10 ms per iteration.
  args: ['4000', '10000', '512', '100'],
};

export const MPICH: Flavor = {
  name: 'mpich',
  mpicc: '/usr/bin/mpicc.mpich',
  run: (hf, prog) => ['/usr/bin/mpiexec.mpich', '-f', hf, '-n', String(RANKS), ...prog],
  hostfile: HOSTS.map((h) => `${h}:2\n`).join(''),
  env: 'mpich.env',
  // MPICH (ch4:ucx) busy-polls: 6 ranks on 2 cores make ~10-15 iterations/s.
  args: ['450', '0', '512', '10'],
};

export class MpiJob {
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
    // MPICH's finalize-hang workaround, built next to the program (see mpich.env).
    const shim = path.join(this.dir, SHIM);
    const pre = fs.existsSync(shim) ? `UCX_NOFLUSH_SHIM=${shQuote(shim)} ` : '';
    const script = `cd ${shQuote(this.dir)} && ${pre}. ${shQuote(env)} && exec ${argv.map(shQuote).join(' ')}`;
    // The env files are bash; the user's login shell may not be.
    return sshAsUser('node1', `exec bash -c ${shQuote(script)}`, timeoutMs);
  }

  /** The launcher's command line; `fast`: no sleep per iteration (the values do not
   * depend on it), for the reference run. */
  mpirun(prog: string, fast = false): string[] {
    const [iterations, sleepUs, ...rest] = this.f.args;
    return this.f.run(path.join(this.dir, 'hostfile'), [prog, iterations!, fast ? '0' : sleepUs!, ...rest]);
  }

  cairnArgs(sub: string, ...args: string[]): string[] {
    return [process.execPath, cairnBin(), sub, '--coord-port', '0', '--port-file', this.portFile, '--ckptdir', this.ckpt, ...args];
  }

  /** `cairn command` from this host to the coordinator on node1. */
  command(...args: string[]): Promise<RunResult> {
    return cairn(['command', '--coord-host', 'node1', '--port-file', this.portFile, '--ckptdir', this.ckpt, ...args], { cwd: this.dir });
  }

  async status(): Promise<MpiStatus> {
    const r = await this.command('--status', '--json');
    if (r.code !== 0) throw new Error(`status: ${r.stderr}`);
    const s = JSON.parse(r.stdout) as MpiStatus;
    this.pids.add(s.coordinatorPid);
    for (const m of s.member) for (const p of [{ hostPid: m.agentPid }, ...m.processes]) this.pids.add(p.hostPid);
    return s;
  }

  /** Waits for the job on every host with every rank, and returns its status. A restart
   * right after a kill may wait up to a minute for listening ports that the killed run's
   * connections hold in TIME_WAIT. */
  async allRanks(): Promise<MpiStatus> {
    let s: MpiStatus | undefined;
    for (const end = Date.now() + 180_000; Date.now() < end; await new Promise((r) => setTimeout(r, 500))) {
      await waitFor('the port file', () => readIf(this.portFile).trim() !== '', 120_000);
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
    // Agents told to end (or whose job just ended) remove their socket directories in the
    // shared /tmp as they exit; one killed first leaves its own (seen after the bench's MPI
    // run). Anything still there after a few seconds is killed.
    await waitFor('the job\'s processes and agents to end', () => [...this.pids].every((p) => !alive(p)), 10_000).catch(() => undefined);
    this.killAll();
    this.remove();
  }
}

export interface MpiStatus {
  lastGeneration: number;
  coordinatorPid: number;
  member: Array<{ host: string; agentPid: number; state: string; processes: Array<{ hostPid: number; comm: string; rank: string }> }>;
}

/** The ranks each of node1..3 holds, sorted. */
export function ranksByHost(s: MpiStatus): number[][] {
  return HOSTS.map((h) => s.member.filter((m) => m.host === h).flatMap((m) => m.processes.filter((p) => p.rank !== '').map((p) => Number(p.rank))).sort((a, b) => a - b));
}

/** ring_sum built as the test user, on the shared filesystem every node sees. */
export async function buildRingSum(f: Flavor, dir: string): Promise<string> {
  if (!fs.existsSync(f.mpicc)) throw new Error(`${f.mpicc} is missing: install the MPI packages (scripts/setup-debian.sh)`);
  const prog = path.join(dir, `ring_sum.${f.name}`);
  const cc = await sshAsUser('node1', `${f.mpicc} -O2 -o ${shQuote(prog)} ${shQuote(path.join(mpiDir(), 'ring_sum.c'))}`, 120_000);
  if (cc.code !== 0) throw new Error(`${f.mpicc} failed: ${cc.stderr}`);
  if (f.name === 'mpich') {
    const so = await sshAsUser('node1', `gcc -O2 -Wall -shared -fPIC -o ${shQuote(path.join(dir, SHIM))} ${shQuote(path.join(mpiDir(), 'ucx_noflush_disconnect.c'))}`, 120_000);
    if (so.code !== 0) throw new Error(`building ${SHIM} failed: ${so.stderr}`);
  }
  return prog;
}

