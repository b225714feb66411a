// Running the real cairn CLI as the test user, in the foreground or the background.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cairnFront } from '../../common/paths.js';
import { testUser } from './user.js';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Written to stdin, then stdin stays open unless closeStdin. */
  input?: string;
  timeoutMs?: number;
}

function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const u = testUser();
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: u.home,
    USER: u.name,
    LANG: 'C',
    // Benchmarks compare with snapshots turned off (CAIRN_SNAPSHOT=0).
    ...(process.env.CAIRN_SNAPSHOT ? { CAIRN_SNAPSHOT: process.env.CAIRN_SNAPSHOT } : {}),
    ...extra,
  };
}

/** Start any program as the test user. */
export function spawnAsUser(cmd: string, args: string[], o: RunOptions): ChildProcess {
  const u = testUser();
  return spawn(cmd, args, {
    cwd: o.cwd,
    env: userEnv(o.env),
    uid: u.uid,
    gid: u.gid,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export class Background {
  stdout = '';
  stderr = '';
  readonly exited: Promise<RunResult>;
  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d) => (this.stdout += d));
    child.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr })));
  }
  get pid(): number {
    return this.child.pid!;
  }
  write(s: string): void {
    this.child.stdin!.write(s);
  }
  /** Ends the process by PID if it still runs. */
  async stop(): Promise<void> {
    const running = this.child.exitCode === null && this.child.signalCode === null;
    const exit = running ? new Promise<void>((resolve) => this.child.once('exit', () => resolve())) : Promise.resolve();
    if (running) {
      try {
        process.kill(this.child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await exit;
    // `exited` waits for its pipes too, which a process it started may still hold (a job a
    // restart script brought back): let them go after a while rather than wait on them.
    const release = setTimeout(() => {
      for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) s?.destroy();
    }, 5000);
    await this.exited;
    clearTimeout(release);
  }
}

// Through bin/cairn, as users run it: its native front answers checkpoint commands and
// runs the Node CLI (same PID) for everything else.
export function cairnBackground(args: string[], o: RunOptions): Background {
  const b = new Background(spawnAsUser(cairnFront(), args, o));
  if (o.input !== undefined) b.write(o.input);
  return b;
}

export async function cairn(args: string[], o: RunOptions): Promise<RunResult> {
  return runAsUser(cairnFront(), args, o);
}

export async function runAsUser(cmd: string, args: string[], o: RunOptions): Promise<RunResult> {
  const b = new Background(spawnAsUser(cmd, args, o));
  if (o.input !== undefined) b.write(o.input);
  b.child.stdin!.end();
  const timer = setTimeout(() => void b.stop(), o.timeoutMs ?? 120_000);
  const r = await b.exited;
  clearTimeout(timer);
  return r;
}

/** Waits until cond() is true, polling; throws after timeoutMs. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000, everyMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function readIf(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** True once a checkpoint under way has started an image in its partial generation. */
export function partialImageStarted(ckptDir: string): boolean {
  const partial = fs.readdirSync(ckptDir).find((d) => d.includes('partial'));
  return !!partial && fs.readdirSync(path.join(ckptDir, partial)).some((f) => f.endsWith('.cimg'));
}

/** Host pids of a process's children (from /proc). */
export function childrenOf(pid: number): number[] {
  return readIf(`/proc/${pid}/task/${pid}/children`).split(/\s+/).filter(Boolean).map(Number);
}

export function killPid(pid: number | undefined, sig: NodeJS.Signals = 'SIGKILL'): void {
  if (!pid) return;
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(st);
  } catch {
    return false;
  }
}
