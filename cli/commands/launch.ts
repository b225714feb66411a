// cairn launch [options] CMD...: run CMD under cairn, in the foreground, and exit with its status.
import fs from 'node:fs';
import path from 'node:path';
import { loadEngine } from '../../agent/engine-api.js';
import { launchJob, resolveProgram } from '../../agent/launch.js';
import { compressOf } from '../../common/compress.js';
import { ckptDirOf, coordHost, coordPort, intervalOf } from '../../common/coord-address.js';
import { UserError } from '../../common/errors.js';
import { beginCoordinator, withCoordinator } from '../coordinator-process.js';
import { hostsOf, readSecretFromStdin } from '../../common/hostfile.js';
import { info } from '../output.js';
import { launchOnHosts } from './launch-hosts.js';
import { forwardSignals } from '../signals.js';

export interface LaunchArgs {
  command: string[];
  newCoordinator: boolean;
  coordHost?: string;
  coordPort?: number;
  portFile?: string;
  interval?: number;
  ckptdir?: string;
  gzip?: boolean;
  compress?: string;
  quiet?: boolean;
  /** --hosts / --hostfile: run CMD on each of these hosts (agents started over ssh). */
  hosts?: string;
  hostfile?: string;
  /** The job secret is the first line of stdin (agents the coordinator starts over ssh). */
  secretStdin?: boolean;
}

export async function launch(a: LaunchArgs): Promise<number> {
  if (a.command.length === 0) throw new UserError('no program to launch', 'cairn launch [options] ./a.out [args...]');
  const compress = compressOf(a.compress, a.gzip);
  const cwd = process.cwd();
  const hosts = hostsOf(a.hosts, a.hostfile);
  const secret = a.secretStdin ? readSecretFromStdin() : undefined;
  // A missing program is reported before anything starts (the filesystem is shared, as on
  // a cluster, so this holds for other hosts too).
  resolveProgram(a.command[0]!, cwd);
  const ckptDir = path.resolve(ckptDirOf(a.ckptdir));
  try {
    fs.mkdirSync(ckptDir, { recursive: true, mode: 0o700 });
    fs.accessSync(ckptDir, fs.constants.W_OK);
  } catch {
    throw new UserError(`checkpoint directory ${ckptDir} is not writable`, 'choose another with --ckptdir');
  }
  const port = coordPort(a.coordPort);
  // A new coordinator (a Node process) starts now, while this one loads the agent's modules
  // (gRPC: ~0.1 s) and the engine.
  const coordinating = beginCoordinator({
    host: coordHost(a.coordHost),
    port,
    newCoordinator: a.newCoordinator || port === 0,
    portFile: a.portFile,
    ckptDir,
    intervalS: intervalOf(a.interval),
    // With --hosts this launcher waits for every host and then quits the coordinator.
    exitOnLast: hosts.length === 0,
    secret,
  });
  let modules;
  try {
    modules = hosts.length ? undefined : await Promise.all([import('../../agent/agent.js'), import('../../agent/daemon-spawn.js'), loadEngine()]);
    modules?.[0].warmAgent();
  } catch (e) {
    await coordinating.abandon();
    throw e;
  }
  const coord = await coordinating.ready;
  if (!modules) return launchOnHosts(coord, hosts, a.command, cwd, ckptDir, !!a.quiet, compress);
  const [{ serveJob }, { mpiLauncherEnv, startDaemonSpawner }, engine] = modules;
  const log = a.quiet ? () => undefined : info;
  // mpirun/mpiexec in the job start their daemons on other hosts through this agent.
  const spawner = await startDaemonSpawner(coord, { cwd, ckptDir, log });
  const job = await withCoordinator(coord, () => launchJob(engine, a.command, cwd, mpiLauncherEnv(spawner.socketName)));
  return serveJob({
    engine,
    job,
    timeOffsets: { monotonicNs: '0', boottimeNs: '0' },
    coord,
    register: { jobName: path.basename(a.command[0]!), argv: a.command, cwd, restarted: false },
    log,
    compress,
  }, forwardSignals).finally(() => spawner.close());
}
