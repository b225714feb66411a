// Finding or starting the coordinator a launch or restart talks to. As with DMTCP, a
// launch joins the coordinator at host:port when one answers, and otherwise starts one in
// the background (it exits with the job's last process).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { call, coordinatorAlive } from '../common/control-client.js';
import { UserError } from '../common/errors.js';
import { cairnBin } from '../common/paths.js';
import { findSecret, secretPath } from '../common/secret.js';

export interface CoordinatorWanted {
  host: string;
  port: number;
  newCoordinator: boolean;
  portFile?: string;
  ckptDir: string;
  intervalS: number;
  exitOnLast: boolean;
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

export async function ensureCoordinator(w: CoordinatorWanted): Promise<CoordinatorFound> {
  if (!w.newCoordinator && w.port !== 0) {
    const haveSecret = !!w.secret || fs.existsSync(secretPath(w.ckptDir)) || !!process.env.CAIRN_SECRET || !!process.env.CAIRN_SECRET_FILE;
    if (haveSecret) {
      const secret = w.secret ?? findSecret(w.ckptDir);
      if (await coordinatorAlive({ host: w.host, port: w.port, secret })) return { host: w.host, port: w.port, secret, started: false };
    }
    if (!LOCAL.has(w.host)) throw new UserError(`no coordinator answers at ${w.host}:${w.port}`, 'start it there first (cairn coordinator), or launch with --new-coordinator');
  }
  const { port } = await startCoordinatorDaemon(w);
  return { host: 'localhost', port, secret: findSecret(w.ckptDir), started: true };
}

/** Starts `cairn coordinator` detached; resolves with its port once it listens. */
export async function startCoordinatorDaemon(w: Omit<CoordinatorWanted, 'host' | 'newCoordinator'>): Promise<{ port: number; pid: number; log: string }> {
  fs.mkdirSync(w.ckptDir, { recursive: true, mode: 0o700 });
  const log = path.join(w.ckptDir, 'cairn-coordinator.log');
  const logFd = fs.openSync(log, 'a', 0o600);
  const args = [cairnBin(), 'coordinator', '--coord-port', String(w.port), '--ckptdir', w.ckptDir, '--interval', String(w.intervalS), '--ready-fd', '3'];
  if (w.portFile) args.push('--port-file', path.resolve(w.portFile));
  // A starter killed before its job joined would otherwise leave this coordinator waiting forever.
  if (w.exitOnLast) args.push('--exit-on-last', '--starter-pid', String(process.pid));
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', logFd, logFd, 'pipe'], env: process.env });
  fs.closeSync(logFd);
  const ready = child.stdio[3] as NodeJS.ReadableStream;
  return new Promise((resolve, reject) => {
    let text = '';
    const fail = (why: string) => {
      const last = fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).pop() ?? why;
      reject(new UserError(`the coordinator did not start: ${last.replace(/^.*?cairn: /, '')}`, `see ${log}`));
    };
    child.once('exit', () => fail('it exited'));
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
  });
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
