// A job under cairn for end-to-end tests: its directories, its coordinator, its processes.
import fs from 'node:fs';
import path from 'node:path';
import { alive, Background, cairn, cairnBackground, killPid, readIf, spawnAsUser, waitFor, type RunResult } from './cairn.js';
import { mkdirForUser, scratchDir } from './scratch.js';

export interface StatusJson {
  jobId: string;
  ckptDir: string;
  lastGeneration: number;
  coordinatorPid: number;
  lastError: string;
  member: Array<{ processes: Array<{ hostPid: number; nsPid: number; comm: string }> }>;
}

export class TestJob {
  readonly root: string;
  readonly work: string;
  readonly ckpt: string;
  readonly portFile: string;
  private removeRoot: () => void;
  launcher?: Background;
  // PIDs wrap quickly on a busy machine (pid_max may be 32768): a PID is only ever killed
  // if it is still the process we saw, same start time.
  private pids = new Map<number, string>();
  private started: Background[] = [];

  constructor(name: string) {
    const s = scratchDir(`cairn-${name}-`);
    this.root = s.dir;
    this.removeRoot = s.remove;
    this.work = mkdirForUser(path.join(this.root, 'work'));
    this.ckpt = mkdirForUser(path.join(this.root, 'ckpt'));
    this.portFile = path.join(this.root, 'work', 'port.txt');
  }

  launch(argv: string[], opts: { interval?: number; input?: string; extra?: string[]; env?: Record<string, string> } = {}): Background {
    const args = ['launch', '--new-coordinator', '--coord-port', '0', '--port-file', this.portFile, '--ckptdir', this.ckpt];
    if (opts.interval) args.push('-i', String(opts.interval));
    this.launcher = cairnBackground([...args, ...(opts.extra ?? []), ...argv], { cwd: this.work, input: opts.input, env: opts.env });
    this.started.push(this.launcher);
    return this.launcher;
  }

  command(...args: string[]): Promise<RunResult> {
    return cairn(['command', '--port-file', this.portFile, '--ckptdir', this.ckpt, ...args], { cwd: this.work });
  }

  async status(): Promise<StatusJson> {
    const r = await this.command('--status', '--json');
    if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
    const s = JSON.parse(r.stdout) as StatusJson;
    this.remember(s.coordinatorPid);
    for (const m of s.member) for (const p of m.processes) this.remember(p.hostPid);
    return s;
  }

  /** Waits until the coordinator answers and the job's process is registered. */
  async running(): Promise<StatusJson> {
    await waitFor('the coordinator port file', () => readIf(this.portFile).trim() !== '', 30_000);
    let s: StatusJson | undefined;
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      s = await this.status().catch(() => undefined);
      if (s && s.member.length > 0 && s.member[0]!.processes.length > 0) return s;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`job did not register: ${this.launcher?.stderr}`);
  }

  jobDir(s: StatusJson): string {
    return s.ckptDir;
  }

  latestGeneration(jobDir: string): number {
    try {
      const m = /gen-(\d+)$/.exec(fs.readlinkSync(path.join(jobDir, 'latest')));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  }

  /** kill -9 of the job's process and its coordinator, as a power cut would. */
  async killAll(s: StatusJson): Promise<void> {
    for (const m of s.member) for (const p of m.processes) killPid(p.hostPid);
    killPid(s.coordinatorPid);
    await waitFor('the job and the coordinator to die', () => !alive(s.coordinatorPid) && s.member.every((m) => m.processes.every((p) => !alive(p.hostPid))), 10_000);
  }

  /** The restart script as a user runs it: `cd D && ./cairn_restart.sh`. */
  restartScript(args: string[] = [], input?: string, env?: Record<string, string>): Background {
    const b = new Background(spawnAsUser('./cairn_restart.sh', args, { cwd: this.ckpt, env }));
    if (input !== undefined) b.write(input);
    this.launcher = b;
    this.started.push(b);
    return b;
  }

  remember(pid: number): void {
    const start = startTime(pid);
    if (start && !this.pids.has(pid)) this.pids.set(pid, start);
  }

  /** Ends what the test started (by PID) and removes the scratch directory. */
  async cleanup(): Promise<void> {
    for (const b of this.started) await b.stop();
    for (const [pid, start] of this.pids) if (startTime(pid) === start) killPid(pid);
    this.removeRoot();
  }
}

/** Field 22 of /proc/PID/stat: when the process started (undefined once it is gone). */
function startTime(pid: number): string | undefined {
  const stat = readIf(`/proc/${pid}/stat`);
  return stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] : undefined;
}
