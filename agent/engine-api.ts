// The native engine as the agent sees it: one engine thread per agent process owns every
// ptrace and waitpid of the job (see docs/ENGINE.md). Each call is queued to that thread and
// answered by a promise. 64-bit values travel as decimal strings, as protobufjs gives them
// with { longs: String }.
import { createRequire } from 'node:module';
import path from 'node:path';
import { projectRoot } from '../common/paths.js';

/** A ProcessImage of protos/image.proto as a plain object (protobufjs toObject with
 * longs: String, enums: Number, bytes: Buffer, defaults: true). */
export type ProcessImageObject = Record<string, unknown>;

export interface LaunchOptions {
  /** argv[0] must be an absolute path to an executable the user can read and run. */
  argv: string[];
  /** "NAME=value" strings, exactly the job's environment. */
  env: string[];
  cwd: string;
  /** Agent descriptors that become the job's 0, 1, 2. */
  stdio: [number, number, number];
  /** Absolute path of the static cairn-nsinit helper. */
  nsinitPath: string;
}

export interface JobProcess {
  /** Host PID of the job process (what kill(1) from the host uses). */
  pid: number;
  /** Its PID inside the job's PID namespace. */
  nsPid: number;
  /** Host PID of cairn's init (PID 1 of the job's namespace). */
  initPid: number;
  /** Host PID of the nsinit helper outside the namespace (the agent's own child). */
  helperPid: number;
  /** A restored job's time namespace offsets, as made (see RestoreOptions.offsetsAt). */
  timeOffsets?: TimeOffsets;
}

export interface FrozenProcess {
  pid: number;
  threads: number;
}

export interface DumpOptions {
  /** Created (0600, truncated) by dump: what is not private memory is written from offset
   * 4096 on, then the pages (finishDump). */
  imagePath: string;
  /** st_dev/st_ino of the agent's fds 0, 1, 2 (null when closed): a job descriptor that is
   * one of them and not a regular file is saved as FD_INHERITED. */
  stdioIdentity: Array<{ dev: string; ino: string } | null>;
  /** Written into image.clocks: the job's clocks are the host's plus these offsets. */
  timeOffsets: TimeOffsets;
  /** Page data codec: 'zstd[:LEVEL]', 'gzip[:LEVEL]' or 'none' (the default). Zero pages are
   * never stored, whatever the codec. */
  compress?: string;
  /** Take a copy-on-write snapshot of its memory, so that the job may run again before
   * finishDump writes the pages from it. */
  snapshot?: boolean;
  /** Host pid of the job's PID 1: where a snapshot must land (none is taken otherwise). */
  reaper?: number;
  /** Track the pages it writes from now on (uncompressed images only), so that its next
   * image may leave the others in this one. */
  track?: boolean;
  /** Its previous image (committed) and that image's path relative to the job directory:
   * pages not written since are referred to there instead of stored. */
  base?: { file: string; image: ProcessImageObject };
}

/** The frozen part of a dump: every field of the image but the page data's places. */
export interface PendingDumpResult {
  image: ProcessImageObject;
  /** First byte after what is written (the pages go after it, page aligned). */
  extrasEnd: number;
  /** The pages will come from a snapshot: finishDump may run after the thaw. */
  snapshot: boolean;
  /** Why there is no snapshot although one was asked for. */
  noSnapshot: string;
  /** Bytes of pages left in older images. */
  referenced: number;
  /** Why written pages are not tracked although it was asked for. */
  noTracking: string;
}

export interface DumpResult {
  /** The image as dump returned it, with its page runs placed and checksummed, its codec
   * and frames. */
  image: ProcessImageObject;
  /** First byte after the page data: where the agent appends the metadata. */
  pagesEnd: number;
}

export interface TimeOffsets {
  monotonicNs: string;
  boottimeNs: string;
}

export interface RestoreOptions {
  /** Every live process of the job (zombies travel in their parents' images). The main
   * process is the child of init with the lowest pid. */
  processes: Array<{ image: ProcessImageObject; imagePath: string }>;
  nsinitPath: string;
  restorerPath: string;
  /** The restorer's log; kept on failure so its last line can be shown. */
  logPath: string;
  /** Agent descriptors handed to the restored process: passFds[k] serves every fd whose
   * kind is FD_INHERITED with inherited_index k. */
  passFds: number[];
  timeOffsets: TimeOffsets;
  hostname: string;
  /** Files that grew after the checkpoint, cut back to these sizes once every page has been
   * read and checked, before the job runs (a damaged image leaves them as they are). */
  cutBack?: Array<{ path: string; size: number }>;
  /** Every page was checked already (verifyPages): the restore does not check them again. */
  pagesChecked?: boolean;
  /** The restore waits for restoreGo() before it makes the job's time namespace (the caller
   * gets ready meanwhile; the restorers fill memory and the pages are checked on, but none of
   * the program runs before it). */
  waitForGo?: boolean;
  /** The host's clocks when timeOffsets were computed: the offsets are moved back by the
   * time that passes until the job's time namespace is made. */
  offsetsAt?: { monotonicNs: string; boottimeNs: string };
}

export interface HostClocks {
  monotonicNs: string;
  boottimeNs: string;
  realtimeNs: string;
}

export interface Engine {
  launch(opts: LaunchOptions): Promise<JobProcess>;
  /** Resolves when the job's init has exited: its status is the main process's exit code,
   * or 128 + the signal that killed it. */
  waitExit(helperPid: number): Promise<{ status: number }>;
  /** PTRACE_SEIZE + INTERRUPT every thread of each process (threads created meanwhile
   * included); rejects, leaving nothing attached, if a process is gone or untraceable. */
  freeze(pids: number[]): Promise<FrozenProcess[]>;
  /** The frozen part of one process's dump: metadata returned, everything but its private
   * memory written to opts.imagePath, and (if asked, and possible) a snapshot taken. */
  dump(pid: number, opts: DumpOptions): Promise<PendingDumpResult>;
  /** Before the freeze, the process running: its private anonymous memory copied into a new
   * image at opts.imagePath, compressed as opts.compress says (uncompressed: pages written
   * since opts.base read again, the others referred to there), and its written-page tracker
   * armed (the process stopped for that moment only). The next dump of it with the same
   * imagePath and compress (and track, uncompressed) continues that image, storing only what
   * the process wrote since. `skipped`: this process cannot be tracked. */
  precopy(pid: number, opts: { imagePath: string; compress?: string; base?: { file: string; image: ProcessImageObject } }): Promise<{ stored: number; referenced: number; skipped?: string }>;
  /** Removes the files of copies made before the freeze that no dump continued. */
  dropPrecopies(): Promise<void>;
  /** Its pages, written from dataStart (page aligned, after extrasEnd) on; from the snapshot,
   * or from the process itself, which must then still be frozen. The image file is closed. */
  finishDump(pid: number, dataStart: number): Promise<DumpResult>;
  /** Gives up every pending dump (files closed, snapshots gone); with dropTrackers, the
   * written-page trackers too (the next image of every process is full). */
  discardDumps(dropTrackers?: boolean): Promise<void>;
  /** Detach every thread of frozen processes; they run on exactly where they were. */
  thaw(pids: number[]): Promise<void>;
  /** Lets go the processes held until their TCP bytes in flight were sent (thaw, restore):
   * how many are still held, and what could not be sent. */
  releaseHeld(): Promise<{ held: number; errors: string[] }>;
  /** Re-read the page runs of an image and compare their crc32c; rejects naming the run. */
  verifyPages(imagePath: string, image: ProcessImageObject): Promise<void>;
  /** Restore a job's process tree, every process with its saved PID, TIDs, parent, session
   * and process group, in a fresh namespace set; it runs when the promise resolves. The
   * result names the main process. */
  restore(opts: RestoreOptions): Promise<JobProcess>;
  /** For a restore with waitForGo (before or while it runs): true lets it go on to make the
   * job's time namespace and let the job run, false abandons it (it fails before any of the
   * program has run; its restorers are killed). */
  restoreGo(go: boolean): void;
  /** SIGKILL the job's init and reap what the engine traces (safe while frozen). */
  kill(job: JobProcess): Promise<void>;
  /** Throws the one-line reason when an image could not be restored with this many passed
   * descriptors (synchronous; nothing is started). */
  checkRestorable(image: ProcessImageObject, passedFds: number): void;
  /** Every descriptor of these (frozen) processes, numbered by open file description across
   * all of them (kcmp): equal ofd = shared offset and flags. Throws when a connected UNIX
   * socket of theirs has its peer outside these processes. */
  openFileDescriptions(pids: number[]): Array<{ pid: number; fd: number; ofd: number }>;
  /** Throws the one-line reason when these images of one job could not be restored
   * together (objects shared between processes of a kind cairn cannot share yet). */
  checkJobRestorable(images: ProcessImageObject[]): void;
  /** struct termios of a terminal on this descriptor of the agent (null: not a terminal). */
  ttyGet(fd: number): Buffer | null;
  ttySet(fd: number, termios: Buffer): void;
  /** True when the two processes share one address space (a vfork child before exec). */
  sameMemory(pidA: number, pidB: number): boolean;
  clocks(): HostClocks;
  crc32c(data: Buffer, seed?: number): number;
  /** Bytes of memory done and to do in the dumps since resetProgress(), or in the restore in
   * progress (decompression counts as much again). Cheap: callable while a call runs. */
  progress(): { done: number; total: number };
  resetProgress(): void;
  /** Stop the engine thread (pending calls reject). */
  close(): void;
}

export function nativePaths(): { addon: string; nsinit: string; restorer: string; ipc: string; rsh: string; relay: string } {
  const root = projectRoot();
  return {
    addon: path.join(root, 'native', 'build', process.env.CAIRN_ENGINE_BUILD === 'Debug' ? 'Debug' : 'Release', 'cairn_engine.node'),
    nsinit: path.join(root, 'native', 'build', 'helpers', 'cairn-nsinit'),
    restorer: path.join(root, 'native', 'build', 'helpers', 'cairn-restorer'),
    ipc: path.join(root, 'native', 'build', 'helpers', 'cairn-ipc'),
    rsh: path.join(root, 'native', 'build', 'helpers', 'cairn-rsh'),
    relay: path.join(root, 'native', 'build', 'helpers', 'cairn-relay'),
  };
}

let engine: Engine | undefined;

export function loadEngine(): Engine {
  if (engine) return engine;
  const require = createRequire(import.meta.url);
  const mod = require(nativePaths().addon) as { createEngine(): Engine };
  engine = mod.createEngine();
  return engine;
}

/** TCP connections between hosts of a job (native/src/sockets.cc, tcp_remote_js.cc): plain
 * calls on the JS thread, each bounded in time. */
export interface TcpRemote {
  /** After openFileDescriptions: the job's connections whose other end is not on this host. */
  candidates(): Array<{ local: string; peer: string; written: string }>;
  /** DRAINED: those whose other end the coordinator found: every byte in flight read out. */
  drain(ends: Array<{ local: string; peer: string; written: string }>, timeoutMs: number): Promise<void>;
  /** CHECKPOINTED or ABORTED, once every host has drained: what was read put back (echo). */
  echoPending(timeoutMs: number): Promise<void>;
  /** Drained bytes not put back yet. */
  pending(): boolean;
  listen(ipv6: boolean): { fd: number; port: number };
  accept(listenFd: number, timeoutMs: number): number;
  connect(addrs: string[], timeoutMs: number): number;
  /** Both ends' agents at once: returns, per end, what did not fit back yet. */
  echo(ends: Array<{ fd: number; bytes: Buffer; what: string }>, timeoutMs: number): Promise<Buffer[]>;
  /** Hand a connection made again to the restore of saved socket `ino`. */
  premade(ino: string, fd: number, left: Buffer): void;
  close(fd: number): void;
}

export function loadTcpRemote(): TcpRemote {
  const require = createRequire(import.meta.url);
  return (require(nativePaths().addon) as { tcpRemote: TcpRemote }).tcpRemote;
}
