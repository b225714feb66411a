// cairn coordinator: the job's central server, in the foreground or as a daemon.
import fs from 'node:fs';
import path from 'node:path';
import { startCoordinator } from '../../coordinator/coordinator.js';
import { ckptDirOf, coordPort, intervalOf } from '../../common/coord-address.js';
import { UserError } from '../../common/errors.js';
import { cairnBin } from '../../common/paths.js';
import { startCoordinatorDaemon } from '../coordinator-process.js';

export interface CoordinatorArgs {
  coordPort?: number;
  portFile?: string;
  daemon?: boolean;
  exitOnLast?: boolean;
  interval?: number;
  ckptdir?: string;
  keep: number;
  phaseTimeout: number;
  readyFd?: number;
  /** With exitOnLast: shut down if this process is gone and no member ever joined. */
  starterPid?: number;
}

export async function coordinator(a: CoordinatorArgs): Promise<number> {
  const ckptDir = path.resolve(ckptDirOf(a.ckptdir));
  const port = coordPort(a.coordPort);
  const intervalS = intervalOf(a.interval);
  if (a.keep < 1) throw new UserError(`--keep ${a.keep}: at least one generation must be kept`, 'use --keep 1 or more');
  if (a.daemon) {
    const d = await startCoordinatorDaemon({ port, portFile: a.portFile, ckptDir, intervalS, exitOnLast: !!a.exitOnLast });
    process.stdout.write(`cairn coordinator listening on port ${d.port} (pid ${d.pid}, log ${d.log})\n`);
    return 0;
  }
  fs.mkdirSync(ckptDir, { recursive: true, mode: 0o700 });
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} cairn-coordinator[${process.pid}]: ${line}\n`);
  let c;
  try {
    c = await startCoordinator({
      port,
      portFile: a.portFile ? path.resolve(a.portFile) : undefined,
      ckptDir,
      intervalS,
      exitOnLast: !!a.exitOnLast,
      keep: a.keep,
      phaseTimeoutS: a.phaseTimeout,
      writeTimeoutS: 3600,
      cairnBin: cairnBin(),
      log,
    });
  } catch (e) {
    const code = (e as { code?: unknown; message?: string }).message ?? '';
    if (/EADDRINUSE|address already in use|No address added/i.test(code)) {
      throw new UserError(`port ${port} is already in use`, 'another coordinator may run there: join it (omit --new-coordinator) or use --coord-port 0');
    }
    throw e;
  }
  log(`listening on port ${c.port}, checkpoints in ${ckptDir}${intervalS ? `, every ${intervalS} s` : ''}`);
  if (a.readyFd !== undefined) {
    fs.writeSync(a.readyFd, `READY ${c.port}\n`);
    fs.closeSync(a.readyFd);
  }
  const stop = () => void c.close();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (a.exitOnLast && a.starterPid) {
    const starter = a.starterPid;
    const watch = setInterval(() => {
      if (c.memberCount() > 0) return clearInterval(watch);
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
