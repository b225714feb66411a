// cairn restart [DIR | IMAGE...]: bring a checkpointed job back, in the foreground, and
// exit with its status.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readImage } from '../../agent/image-file.js';
import { resolveRestartTarget, type RestartTarget } from '../../agent/restart-target.js';
import { codecSpec, compressOf } from '../../common/compress.js';
import { ckptDirOf, coordHost, coordPort, intervalOf } from '../../common/coord-address.js';
import { UserError, errorMessage } from '../../common/errors.js';
import { beginCoordinator, withCoordinator, type CoordinatorStart } from '../coordinator-process.js';
import { readSecretFromStdin } from '../../common/hostfile.js';
import { info } from '../output.js';
import { withProgress } from '../progress.js';
import { imagesOfHost, planHosts, restartOnHosts } from './restart-hosts.js';
import { forwardSignals } from '../signals.js';

// Loaded once the coordinator is starting: what the restore needs before it starts...
const restoreModules = () =>
  Promise.all([
    import('../../agent/engine-api.js'),
    import('../../agent/file-checks.js'),
    import('../../agent/remote-tcp-images.js'),
    import('../../agent/listener-ports.js'),
  ]);
// ...and, once the job's coordinator answers, the agent with gRPC (~0.1 s): while a large
// restore fills memory, or while a small one's job runs.
const serveModules = () =>
  Promise.all([import('../../agent/agent.js'), import('../../agent/job-processes.js'), import('../../agent/daemon-spawn.js')]);

export interface RestartArgs {
  targets: string[];
  newCoordinator: boolean;
  coordHost?: string;
  coordPort?: number;
  portFile?: string;
  interval?: number;
  ckptdir?: string;
  /** Codec of later checkpoints (default: CAIRN_COMPRESS, else the images' own). */
  compress?: string;
  quiet?: boolean;
  /** Multi-host restart: the new hosts, in the order of the manifest's hosts... */
  hosts?: string;
  hostfile?: string;
  /** ...or old=new pairs (hosts not named stay where they were). */
  hostMap?: string;
  /** Restore only the processes that ran on this host (an agent started over ssh). */
  onlyHost?: string;
  secretStdin?: boolean;
}

function offset(jobNs: string, hostNs: string): string {
  return (BigInt(jobNs) - BigInt(hostNs)).toString();
}

export async function restart(a: RestartArgs): Promise<number> {
  const compressFlag = compressOf(a.compress);   // a bad value is refused before anything
  const target = resolveRestartTarget(a.targets, ckptDirOf(a.ckptdir));
  const secret = a.secretStdin ? readSecretFromStdin() : undefined;
  const placement = planHosts(target, a);
  if (placement) return restartOnHosts(target, placement, a);
  if (a.onlyHost !== undefined) target.images = imagesOfHost(target, a.onlyHost);
  // New generations go next to the old ones: the job directory's parent is its ckptdir.
  const ckptDir = path.resolve(a.ckptdir ?? path.dirname(target.jobDir));
  const port = coordPort(a.coordPort);
  // A new coordinator (a Node process) starts now, while this one loads its modules and
  // checks the images; the restore fills the job's memory meanwhile and lets it run once the
  // coordinator answers (the job's clocks run from then). A restart refused meanwhile stops
  // it. A host of a multi-host restart finds its restarter's at once.
  const coordinating = beginCoordinator({
    host: coordHost(a.coordHost),
    port,
    newCoordinator: a.newCoordinator || port === 0,
    portFile: a.portFile,
    ckptDir,
    intervalS: intervalOf(a.interval ?? target.manifest?.intervalS),
    exitOnLast: true,
    secret,
  });
  let serve: () => Promise<number>;
  try {
    serve = await restoreHere(a, target, ckptDir, coordinating, compressFlag);
  } catch (e) {
    await coordinating.abandon();
    throw e;
  }
  return serve();
}

/** Restores the job; resolves with what serves it, once it runs. */
async function restoreHere(a: RestartArgs, target: RestartTarget, ckptDir: string, coordinating: CoordinatorStart, compressFlag: string | undefined): Promise<() => Promise<number>> {
  const [{ loadEngine, nativePaths }, { checkFiles }, { hasRemoteTcp }, { waitForListenerPorts }] = await restoreModules();
  const loaded = target.images.map(readImage);
  const engine = loadEngine();
  for (const l of loaded) {
    try {
      engine.checkRestorable(l.image as never, 3);
    } catch (e) {
      throw new UserError(errorMessage(e), 'nothing was changed: this cairn cannot restore that process');
    }
  }
  const log = a.quiet ? () => undefined : info;
  // Files that grew are cut back by the restore, once every page of the images checked out
  // and before the job runs. One host of a multi-host restart cannot wait that long: its
  // processes run once restored, and another host cutting back a file they share later would
  // take what they wrote. There every page is checked first, and files are cut back before
  // the restore starts.
  const cutBack = checkFiles(loaded.map((l) => l.image));
  const checkFirst = a.onlyHost !== undefined;
  if (checkFirst) {
    // Compressed page data is checked as the restore decompresses it, before anything starts.
    for (const l of loaded) if (!l.image.pagesCodec) await engine.verifyPages(l.file, l.image as never);
    for (const f of cutBack) fs.truncateSync(f.path, f.to);
  }

  // The job's main process: the child of init with the lowest pid.
  const mains = loaded.filter((l) => l.image.nsPpid === 1).sort((a, b) => a.image.nsPid - b.image.nsPid);
  if (mains.length === 0) throw new UserError(`${target.genDir}: no image of the job's main process`, 'restart the whole generation directory, not single images');
  const { image } = mains[0]!;

  // Connections to the job on other hosts are made again with their agents, through the
  // coordinator, before the restore.
  let coord = checkFirst || hasRemoteTcp(loaded.map((l) => l.image as never)) ? await coordinating.ready : undefined;
  const now = engine.clocks();
  const timeOffsets = {
    monotonicNs: offset(image.clocks?.monotonicNs ?? now.monotonicNs, now.monotonicNs),
    boottimeNs: offset(image.clocks?.boottimeNs ?? now.boottimeNs, now.boottimeNs),
  };
  // The job's terminal is now the restarter's: in the mode the job left its own in.
  const mode = (image as { ttyStdio?: number; ttyTermios?: Buffer }).ttyTermios;
  const ttyStdio = (image as { ttyStdio?: number }).ttyStdio ?? 0;
  if (mode?.length && ttyStdio && engine.ttyGet(ttyStdio - 1)) engine.ttySet(ttyStdio - 1, Buffer.from(mode));
  const paths = nativePaths();
  // Listening ports still held by the killed run's connections: wait here, saying so.
  await waitForListenerPorts(loaded.map((l) => l.image as never), log);
  const t0 = process.hrtime.bigint();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-restore-'));
  const removeScratch = () => fs.rmSync(scratch, { recursive: true, force: true });
  if (coord) {
    const { remakeRemoteTcp } = await import('../../agent/remote-tcp-restart.js');
    await withCoordinator(coord, () => remakeRemoteTcp(loaded.map((l) => ({ image: l.image as never, file: l.file })), target.genDir, coord!, log));
  }
  const restoring = engine.restore({
    processes: loaded.map((l) => ({ image: l.image as never, imagePath: l.file })),
    nsinitPath: paths.nsinit,
    restorerPath: paths.restorer,
    // CAIRN_RESTORER_LOG keeps the restorers' log where a person can read it.
    logPath: process.env.CAIRN_RESTORER_LOG ? path.resolve(process.env.CAIRN_RESTORER_LOG) : path.join(scratch, 'restorer.log'),
    passFds: [0, 1, 2],
    timeOffsets,
    hostname: image.hostname,
    cutBack: checkFirst ? [] : cutBack.map((f) => ({ path: f.path, size: f.to })),
    pagesChecked: checkFirst,
    waitForGo: !coord,
    offsetsAt: { monotonicNs: now.monotonicNs, boottimeNs: now.boottimeNs },
  });
  restoring.catch(() => undefined);   // awaited below
  if (!coord) {
    // The go waits for the coordinator alone: the agent's modules load after it
    // (serveModules), not beside the coordinator's own start.
    try {
      coord = await coordinating.ready;
    } catch (e) {
      engine.restoreGo(false);   // none of the job runs without its coordinator
      await restoring.catch(() => undefined);
      removeScratch();
      throw e;
    }
    engine.restoreGo(true);
  }
  const serving = serveModules();
  serving.catch(() => undefined);   // awaited below
  const job = await withCoordinator(coord, () => withProgress('restart', restoring, () => (a.quiet ? undefined : engine.progress()))).finally(removeScratch);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  for (const f of cutBack) log(`${f.path} grew after the checkpoint: cut back from ${f.from} to ${f.to} bytes`);
  const more = loaded.length > 1 ? ` and ${loaded.length - 1} more process${loaded.length > 2 ? 'es' : ''}` : '';
  log(`restored ${image.comm} (pid ${job.nsPid})${more} from ${target.genDir} in ${ms.toFixed(1)} ms`);
  const [{ serveJob, warmAgent }, { jobProcesses }, { agentSocketOf, startDaemonSpawner }] = await serving;
  // ...and a full-screen program learns that its screen may have changed.
  if (ttyStdio) {
    for (const pid of jobProcesses(job.initPid)) {
      try {
        process.kill(pid, 'SIGWINCH');
      } catch {
        // gone meanwhile: nothing to redraw
      }
    }
  }
  warmAgent();   // the first checkpoint's codec, once the job runs
  // MPI launchers of the job may start daemons on other hosts again: the socket their
  // environment names is served again (a job from before this existed has none).
  const socket = agentSocketOf(job.pid);
  const joined = coord;
  return async () => {
    const spawner = socket ? await startDaemonSpawner(joined, { cwd: image.cwd, ckptDir, log, socket }) : undefined;
    return serveJob({
      engine,
      job,
      timeOffsets: job.timeOffsets ?? timeOffsets,
      coord: joined,
      register: {
        jobId: target.manifest?.jobId ?? '',
        jobName: image.comm,
        argv: image.argv,
        cwd: image.cwd,
        restarted: true,
        generation: target.manifest?.generation ?? 0,
      },
      log,
      compress: compressFlag ?? codecSpec(image.pagesCodec as unknown as number),
    }, forwardSignals).finally(() => spawner?.close());
  };
}
