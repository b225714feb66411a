// A coordinator serving until it shuts down: `cairn coordinator` in the foreground, and the
// background coordinator a launch or restart starts (daemon-main.ts).
import fs from 'node:fs';
import { UserError } from '../common/errors.js';
import { startCoordinator } from './coordinator.js';
import { DEFAULT_WRITE_TIMEOUT_S, type CoordinatorOptions } from './options.js';

/** What startCoordinator takes (the write timeout is the default), and how the starter is
 * told and watched. */
export interface ServeOptions extends Omit<CoordinatorOptions, 'host' | 'writeTimeoutS' | 'log'> {
  /** `READY <port>` is written here once listening (the starter waits for it). */
  readyFd?: number;
  /** With exitOnLast: shut down if this process is gone and no member ever joined. */
  starterPid?: number;
}

/** Serves until the coordinator shuts down; returns the exit status. */
export async function serveCoordinator(o: ServeOptions): Promise<number> {
  fs.mkdirSync(o.ckptDir, { recursive: true, mode: 0o700 });
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} cairn-coordinator[${process.pid}]: ${line}\n`);
  // Handlers first: a starter may stop the coordinator the moment it reads READY, and a
  // SIGTERM before them would kill it unlogged, with no shutdown of what it started.
  let c: Awaited<ReturnType<typeof startCoordinator>> | undefined;
  let stopAsked = false;
  const stop = () => {
    stopAsked = true;
    void c?.close();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    c = await startCoordinator({
      port: o.port,
      portFile: o.portFile,
      ckptDir: o.ckptDir,
      intervalS: o.intervalS,
      exitOnLast: o.exitOnLast,
      keep: o.keep,
      phaseTimeoutS: o.phaseTimeoutS,
      writeTimeoutS: DEFAULT_WRITE_TIMEOUT_S,
      cairnBin: o.cairnBin,
      log,
    });
  } catch (e) {
    const code = (e as { message?: string }).message ?? '';
    if (/EADDRINUSE|address already in use|No address added/i.test(code)) {
      throw new UserError(`port ${o.port} is already in use`, 'another coordinator may run there: join it (omit --new-coordinator) or use --coord-port 0');
    }
    throw e;
  }
  log(`listening on port ${c.port}, checkpoints in ${o.ckptDir}${o.intervalS ? `, every ${o.intervalS} s` : ''}`);
  if (o.readyFd !== undefined) {
    fs.writeSync(o.readyFd, `READY ${c.port}\n`);
    fs.closeSync(o.readyFd);
  }
  if (stopAsked) stop();
  if (o.exitOnLast && o.starterPid) {
    const starter = o.starterPid;
    const watch = setInterval(() => {
      if (c?.memberCount()) return clearInterval(watch);
      try {
        process.kill(starter, 0);
      } catch {
        log(`the cairn process that started this coordinator (pid ${starter}) is gone and no job joined`);
        clearInterval(watch);
        stop();
      }
    }, 1000);
    watch.unref();
  }
  await c.done;
  log('exiting');
  return 0;
}
