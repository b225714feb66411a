// cairn coordinator: the job's central server, in the foreground or as a daemon.
import path from 'node:path';
import { serveCoordinator } from '../../coordinator/serve.js';
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
    const d = await startCoordinatorDaemon({ port, portFile: a.portFile, ckptDir, intervalS, exitOnLast: !!a.exitOnLast, keep: a.keep, phaseTimeoutS: a.phaseTimeout });
    process.stdout.write(`cairn coordinator listening on port ${d.port} (pid ${d.pid}, log ${d.log})\n`);
    return 0;
  }
  return serveCoordinator({
    port,
    portFile: a.portFile ? path.resolve(a.portFile) : undefined,
    ckptDir,
    intervalS,
    exitOnLast: !!a.exitOnLast,
    keep: a.keep,
    phaseTimeoutS: a.phaseTimeout,
    cairnBin: cairnBin(),
    readyFd: a.readyFd,
    starterPid: a.starterPid,
  });
}
