// Finding or starting the coordinator a launch or restart talks to. As with DMTCP, a
// launch joins the coordinator at host:port when one answers, and otherwise starts one in
// the background (it exits with the job's last process).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { call, coordinatorAlive } from '../common/control-client-lazy.js';
import { UserError } from '../common/errors.js';
import { cairnBin, coordinatorDaemonScript } from '../common/paths.js';
import { findSecret, secretPath } from '../common/secret.js';
import { dropSpare, takeSpare } from './coordinator-spare.js';

export interface CoordinatorWanted {
  host: string;
  port: number;
  newCoordinator: boolean;
  portFile?: string;
  ckptDir: string;
  intervalS: number;
  exitOnLast: boolean;
  /** Generations kept and seconds per barrier phase (`cairn coordinator --daemon`); default
   * the coordinator's own. */
  keep?: number;
  phaseTimeoutS?: number;
  /** The job secret, when it came another way than the environment or the ckptdir
   * (--secret-stdin: an agent started over ssh). */
  secret?: string;
}

export interface CoordinatorFound {
  host: string;
  port: number;
  secret: string;
  started: boolean;
}

const LOCAL = new Set(['localhost', '127.0.0.1', '::1']);

/** How a starter watches the coordinator it may start (beginCoordinator). */
interface StartHooks {
  spawned?: (child: ChildProcess) => void;
  abandoned?: () => boolean;
}

export async function ensureCoordinator(w: CoordinatorWanted, hooks: StartHooks = {}): Promise<CoordinatorFound> {
  if (!w.newCoordinator && w.port !== 0) {
    const haveSecret = !!w.secret || fs.existsSync(secretPath(w.ckptDir)) || !!process.env.CAIRN_SECRET || !!process.env.CAIRN_SECRET_FILE;
    if (haveSecret) {
      const secret = w.secret ?? findSecret(w.ckptDir);
      if (await coordinatorAlive({ host: w.host, port: w.port, secret })) {
        dropSpare();
        return { host: w.host, port: w.port, secret, started: false };
      }
    }
    if (!LOCAL.has(w.host)) throw new UserError(`no coordinator answers at ${w.host}:${w.port}`, 'start it there first (cairn coordinator), or launch with --new-coordinator');
  }
  if (hooks.abandoned?.()) throw new UserError('the coordinator was not started: its starter gave up');
  const { port } = await startCoordinatorDaemon(w, hooks.spawned, hooks.abandoned);
  return { host: 'localhost', port, secret: findSecret(w.ckptDir), started: true };
}

/** Starts a coordinator detached (coordinator/daemon-main.ts, as `cairn coordinator`);
 * resolves with its port once it listens. */
export async function startCoordinatorDaemon(w: Omit<CoordinatorWanted, 'host' | 'newCoordinator'>, spawned?: (child: ChildProcess) => void, abandoned?: () => boolean): Promise<{ port: number; pid: number; log: string }> {
  fs.mkdirSync(w.ckptDir, { recursive: true, mode: 0o700 });
  const log = path.join(w.ckptDir, 'cairn-coordinator.log');
  fs.closeSync(fs.openSync(log, 'a', 0o600));
  const logStart = fs.statSync(log).size;   // what earlier coordinators wrote is not this one's
  const args = [coordinatorDaemonScript(), '--coord-port', String(w.port), '--ckptdir', path.resolve(w.ckptDir), '--interval', String(w.intervalS), '--ready-fd', '3', '--cairn-bin', cairnBin()];
  if (w.portFile) args.push('--port-file', path.resolve(w.portFile));
  if (w.keep !== undefined) args.push('--keep', String(w.keep));
  if (w.phaseTimeoutS !== undefined) args.push('--phase-timeout', String(w.phaseTimeoutS));
  // A starter killed before its job joined would otherwise leave this coordinator waiting forever.
  if (w.exitOnLast) args.push('--exit-on-last', '--starter-pid', String(process.pid));
  const spawnNow = () => {
    const fd = fs.openSync(log, 'a', 0o600);
    try {
      return spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd, 'pipe'], env: process.env });
    } finally {
      fs.closeSync(fd);
    }
  };
  // The spare booted when this command started (coordinator-spare.ts) gets these flags and
  // opens the log itself; without one, a coordinator starts now.
  const spare = takeSpare();
  spare?.stdin!.end(JSON.stringify({ args: args.slice(1), log }) + '\n');
  return new Promise((resolve, reject) => {
    let text = '';
    const fail = (why: string) => {
      // Its error: the last `cairn: ` line of its log (a hint may follow it).
      const lines = fs.readFileSync(log).subarray(logStart).toString().trim().split('\n').filter(Boolean);
      const last = lines.filter((l) => /cairn: /.test(l) && !/^hint: /.test(l)).pop() ?? lines.pop() ?? why;
      reject(new UserError(`the coordinator did not start: ${last.replace(/^.*?cairn: /, '')}`, `see ${log}`));
    };
    const watch = (child: ChildProcess) => {
      spawned?.(child);
      const ready = child.stdio[3] as NodeJS.ReadableStream;
      child.once('exit', () => {
        // A spare gone without a word in the log could not boot: a coordinator is spawned
        // as without one (unless its starter gave up and stopped it). Otherwise the
        // coordinator's own error.
        if (child === spare && fs.statSync(log).size === logStart && !abandoned?.()) watch(spawnNow());
        else fail('it exited');
      });
      ready.on('data', (d: Buffer) => {
        text += d.toString();
        const m = /READY (\d+)/.exec(text);
        if (m) {
          child.removeAllListeners('exit');
          ready.removeAllListeners('data');
          (ready as unknown as { destroy(): void }).destroy();
          child.unref();
          resolve({ port: Number(m[1]), pid: child.pid!, log });
        }
      });
    };
    watch(spare ?? spawnNow());
  });
}

function readIf(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** A coordinator being found or started while its starter does work of its own. */
export interface CoordinatorStart {
  ready: Promise<CoordinatorFound>;
  /** The starter gives up before its job joined: a coordinator started for it is stopped
   * (and waited for), so none is left waiting for a member that never comes. */
  abandon(): Promise<void>;
}

/** ensureCoordinator begun now: a new coordinator (a Node process, ~0.25 s to answer) starts
 * while the launch or restart loads its own modules and checks its images. */
export function beginCoordinator(w: CoordinatorWanted): CoordinatorStart {
  let child: ChildProcess | undefined;
  let abandoned = false;
  // A coordinator stopped this way may have written the port file already: it is put back.
  const portFile = w.portFile ? path.resolve(w.portFile) : undefined;
  const portFileBefore = portFile ? readIf(portFile) : undefined;
  const ready = ensureCoordinator(w, { spawned: (c) => (child = c), abandoned: () => abandoned });
  ready.catch(() => undefined);   // the starter awaits it, or abandons it
  return {
    ready,
    abandon: async () => {
      abandoned = true;
      const pid = child?.pid;
      if (!pid || child!.exitCode !== null || child!.signalCode !== null) return;
      try {
        process.kill(pid, 'SIGTERM');   // it shuts down, or dies if it is not listening yet
      } catch {
        return;
      }
      for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
      }
      if (portFile && readIf(portFile) !== portFileBefore) {
        if (portFileBefore === undefined) fs.rmSync(portFile, { force: true });
        else fs.writeFileSync(portFile, portFileBefore);
      }
    },
  };
}

/** Runs `start` (starting the job); if it fails, a coordinator started for this job alone
 * is told to quit, so no coordinator is left waiting for a member that never comes. */
export async function withCoordinator<T>(coord: CoordinatorFound, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    if (coord.started) await call(coord, (c) => c.Quit, {}, 5000).catch(() => undefined);
    throw e;
  }
}
