// The agent of one local job: it registers the job's processes with the coordinator, runs
// each barrier phase on them through the native engine, and reports back. One phase at a
// time, in the order the coordinator sends them.
import fs from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../common/errors.js';
import { genName } from '../common/generation-names.js';
import { cairnProto } from '../common/proto.js';
import { CoordinatorSession } from './session.js';
import { finishImage, IMAGE_SUFFIX, warmImageCodec } from './image-file.js';
import { SysvIpcServer } from './sysv-ipc-server.js';
import { commOf, isZombie, jobProcesses, mpiRankOf, nsPidOf, parentOf, processAlive, zombieInfo, type ZombieInfo } from './job-processes.js';

/** RssAnon of /proc/PID/status in bytes (0 if unreadable): about what its dump will write. */
function rssAnon(pid: number): number {
  try {
    const m = /RssAnon:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** A SIGKILLed process takes a moment to become a zombie: look for up to 200 ms. */
async function stillAlive(pid: number): Promise<boolean> {
  for (let i = 0; i < 20; i++) {
    if (!processAlive(pid)) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
import { loadTcpRemote, nativePaths, type Engine, type JobProcess, type TimeOffsets } from './engine-api.js';
import type { CoordinatorMessage__Output } from '../gen/cairn/v1/CoordinatorMessage.js';
import type { PhaseCommand__Output } from '../gen/cairn/v1/PhaseCommand.js';
import type { PhaseResult } from '../gen/cairn/v1/PhaseResult.js';
import type { ImageInfo } from '../gen/cairn/v1/ImageInfo.js';
import type { Register } from '../gen/cairn/v1/Register.js';

/** Draining and echoing the bytes in flight of connections to the job on other hosts. */
const REMOTE_TCP_TIMEOUT_MS = 20_000;

const VMA_SYSV_SHM = 5;           // image.proto VmaKind
const VMA_FLAG_SYSV_RMID = 16;    // image.proto Vma.flags
const SHM_DEST = 0o1000;          // in a segment's mode: IPC_RMID'd while still attached

interface DumpedImage {
  pid: number;
  imagePath: string;
  image: Record<string, unknown>;
  /** Where its pages go (after what the frozen part wrote); then, once they are written, the
   * first byte after them. */
  pagesEnd: number;
  /** Its pages are written: from the process while frozen, or from its snapshot later. */
  written: boolean;
  snapshot: boolean;
  /** Its written pages are tracked: its next image may refer to this one. */
  tracked: boolean;
  info: ImageInfo;
}

/** Copy-on-write snapshots, so that the job runs again while its pages are written
 * (CAIRN_SNAPSHOT=0: every page is written while the job is frozen, as before). */
const SNAPSHOTS = process.env.CAIRN_SNAPSHOT !== '0';

/** Incremental images (uncompressed checkpoints): pages not written since the previous
 * checkpoint stay in its image. Every FULL_EVERY-th image of a process is full again, so
 * that old generations can go (CAIRN_INCREMENTAL=0: every image full). */
const INCREMENTAL = process.env.CAIRN_INCREMENTAL !== '0';
const FULL_EVERY = Math.max(1, Number(process.env.CAIRN_FULL_EVERY ?? 8) || 8);

/** Memory copied before the freeze (PRECOPIED) for processes with at least this much
 * anonymous memory: below it, the pause a copy saves is less than the moment its tracker's
 * arming stops the process (CAIRN_PRECOPY=0: never). */
const PRECOPY = process.env.CAIRN_PRECOPY !== '0';
const PRECOPY_MIN_BYTES = 64 * 2 ** 20;

export interface AgentOptions {
  engine: Engine;
  job: JobProcess;
  timeOffsets: TimeOffsets;
  coord: { host: string; port: number; secret: string };
  register: Register;
  log: (line: string) => void;
  /** Page data codec of this agent's checkpoints unless the checkpoint names one ('none' if unset). */
  compress?: string;
}

export class Agent {
  private session?: CoordinatorSession;
  private frozen: number[] = [];
  private zombies: ZombieInfo[] = [];
  /** ns pid and name of each frozen process, to name one that dies mid-checkpoint. */
  private names = new Map<number, { nsPid: number; comm: string }>();
  /** Job-wide open file description id of each (host pid, fd), from FD_LEADER. */
  private ofds = new Map<string, number>();
  private frozenAt = 0;
  /** This checkpoint's images, from CHECKPOINTED to WRITTEN. */
  private dumped: DumpedImage[] = [];
  /** cairn-ipc, started with the first checkpoint, reads the SysV IPC objects once frozen. */
  private ipcServer?: SysvIpcServer;
  /** Each process's last image (relative to the job directory), the base of its next one,
   * and how many incremental images since its last full one. */
  private bases = new Map<number, { file: string; image: Record<string, unknown>; chain: number }>();
  private toldNoTracking = new Set<number>();
  /** Processes whose memory was copied before this checkpoint's freeze: their dump continues
   * that copy, which knows its base already. */
  private precopied = new Set<number>();
  private writeUs = 0n;
  private chain: Promise<void> = Promise.resolve();
  private exited = false;
  private memberId = 0;
  jobId = '';
  jobDir = '';

  private readonly comm: string;

  constructor(private o: AgentOptions) {
    this.comm = commOf(o.job.pid);
  }

  async connect(): Promise<void> {
    const { session, registered } = await CoordinatorSession.open(
      this.o.coord,
      { ...this.o.register, processes: this.processList() },
      {
        onMessage: (m) => this.onMessage(m),
        onClosed: (reason) => {
          if (!this.exited) this.o.log(`${reason}; the job runs on without checkpoints`);
          // A coordinator that dies mid-checkpoint must not leave the job frozen, nor
          // snapshots behind.
          this.enqueue(async () => {
            await this.forgetDumps();
            await this.echoThenThaw();
          });
        },
      },
    );
    this.session = session;
    this.memberId = registered.memberId;
    setImmediate(() => {
      try {
        warmImageCodec();
      } catch (e) {
        this.o.log(`agent: ${errorMessage(e)}`);
      }
    });
    this.jobId = registered.jobId;
    this.jobDir = registered.ckptDir;
    session.startHeartbeat(5000, () => ({ heartbeat: { processes: this.processList() } }));
  }

  /** The main process first, then the rest of the tree (zombies left out). */
  private processList() {
    const others = jobProcesses(this.o.job.initPid).filter((p) => p !== this.o.job.pid && !isZombie(p));
    return [this.processInfo(), ...others.map((p) => ({ hostPid: p, nsPid: nsPidOf(p), comm: commOf(p), rank: mpiRankOf(p) }))];
  }

  private processInfo() {
    return { hostPid: this.o.job.pid, nsPid: this.o.job.nsPid, comm: this.comm };
  }

  /** Waits for the job to end, reports it, and returns its exit status. */
  async run(): Promise<number> {
    const { status } = await this.o.engine.waitExit(this.o.job.helperPid);
    this.exited = true;
    await this.chain;
    await this.ipcServer?.close();
    this.session?.send({ jobExited: { status } });
    await this.session?.closeWhenDelivered(2000);
    return status;
  }

  private enqueue(fn: () => Promise<unknown>): void {
    this.chain = this.chain.then(fn, fn).then(() => undefined).catch((e) => this.o.log(`agent: ${errorMessage(e)}`));
  }

  private onMessage(msg: CoordinatorMessage__Output): void {
    if (msg.phase) {
      const cmd = msg.phase;
      this.enqueue(() => this.runPhase(cmd));
    } else if (msg.stop) {
      const stop = msg.stop;
      this.enqueue(async () => {
        if (stop.reason) this.o.log(`coordinator: ${stop.reason}`);
        if (stop.kill && !this.exited) {
          this.frozen = [];
          await this.o.engine.kill(this.o.job);
        }
      });
    }
  }

  private phaseCount = new Map<string, number>();

  /** Tests of lost agents: CAIRN_TEST_CRASH_IN_PHASE=PHASE:N makes this agent die (SIGKILL,
   * no cleanup) when it gets PHASE for the N-th time, as a crashed agent or host would. */
  private crashForTest(phase: string): void {
    const m = /^([A-Z_]+):(\d+)$/.exec(process.env.CAIRN_TEST_CRASH_IN_PHASE ?? '');
    if (!m || m[1] !== phase) return;
    const n = (this.phaseCount.get(phase) ?? 0) + 1;
    this.phaseCount.set(phase, n);
    if (n === Number(m[2])) process.kill(process.pid, 'SIGKILL');
  }

  private failCount = new Map<string, number>();

  /** Tests of the abort path: CAIRN_TEST_FAIL_IN_PHASE=PHASE:N makes this agent fail PHASE
   * the N-th time it gets it, as a full disk would; CAIRN_TEST_WRITE_DELAY_MS delays WRITTEN
   * (a slow disk), to see the job run while its images are written. CAIRN_TEST_PRECOPY_DELAY_MS
   * delays the end of PRECOPIED: a process may exit between its copy and the freeze. */
  private async failForTest(phase: string): Promise<void> {
    const m = /^([A-Z_]+):(\d+)$/.exec(process.env.CAIRN_TEST_FAIL_IN_PHASE ?? '');
    if (m && m[1] === phase) {
      const n = (this.failCount.get(phase) ?? 0) + 1;
      this.failCount.set(phase, n);
      if (n === Number(m[2])) throw new Error(`${phase} failed for a test (CAIRN_TEST_FAIL_IN_PHASE)`);
    }
    const delay = Number(process.env.CAIRN_TEST_WRITE_DELAY_MS ?? 0);
    if (phase === 'WRITTEN' && delay > 0) await new Promise((r) => setTimeout(r, delay));
  }

  private async runPhase(cmd: PhaseCommand__Output): Promise<void> {
    const result: PhaseResult = { checkpointId: cmd.checkpointId, phase: cmd.phase, ok: true };
    this.crashForTest(String(cmd.phase));
    try {
      await this.failForTest(String(cmd.phase));
      switch (cmd.phase) {
        case 'PRECOPIED':
          this.writeUs = 0n;   // this checkpoint's writing starts here
          {
            // Started while the engine thread copies memory: the spawn blocks this one.
            const copied = this.precopyAll(cmd);
            this.sysvIpc();
            result.precopied = String(await copied);
          }
          if (process.env.CAIRN_TEST_PRECOPY_DELAY_MS) await new Promise((r) => setTimeout(r, Number(process.env.CAIRN_TEST_PRECOPY_DELAY_MS)));
          break;
        case 'SUSPENDED':
          await this.suspend();
          break;
        case 'FD_LEADER':
          // Which descriptors share an open file description, across the whole tree.
          this.checkAlive();
          this.ofds = new Map(this.o.engine.openFileDescriptions(this.frozen).map((x) => [`${x.pid}:${x.fd}`, x.ofd]));
          // TCP connections whose other end is not here: the coordinator looks for it on
          // the job's other hosts.
          result.tcpEnds = loadTcpRemote().candidates();
          break;
        case 'DRAINED':
          // Pipes are copied without being drained (tee) when each process is dumped.
          this.killMemberForTest('DRAINED');
          this.checkAlive();
          this.checkMembersAlive();
          // Connections to the job on other hosts: every byte in flight read out and put
          // back through the other host's agent, which does the same at this moment.
          if (cmd.remoteTcp?.length) await loadTcpRemote().drain(cmd.remoteTcp, REMOTE_TCP_TIMEOUT_MS);
          break;
        case 'CHECKPOINTED':
          // Every host has drained: what was read is put back before the state is taken.
          await loadTcpRemote().echoPending(REMOTE_TCP_TIMEOUT_MS);
          await this.takeState(cmd);
          break;
        case 'RESUMED':
          result.pauseUs = await this.echoThenThaw();
          break;
        case 'WRITTEN':
          result.images = await this.finishImages(cmd);
          result.writeUs = String(this.writeUs);
          break;
        case 'ABORTED':
          await this.forgetDumps();
          result.pauseUs = await this.echoThenThaw();
          break;
        default:
          throw new Error(`unknown phase ${cmd.phase}`);
      }
    } catch (e) {
      result.ok = false;
      result.error = errorMessage(e);
      // A process killed under our hands makes the engine fail on whatever it touched
      // next; say what really happened.
      for (const [pid, who] of [[this.o.job.pid, { nsPid: this.o.job.nsPid, comm: this.comm }] as const, ...this.names]) {
        if (await stillAlive(pid)) continue;
        result.error = `process ${who.nsPid} (${who.comm}) died during the checkpoint (${result.error})`;
        break;
      }
      // Bytes drained from a connection to another host wait for ABORTED (the other host's
      // agent may still be draining): thawing now would let new bytes overtake them.
      if (cmd.phase !== 'RESUMED' && cmd.phase !== 'ABORTED' && cmd.phase !== 'WRITTEN' && !loadTcpRemote().pending()) await this.thawAll().catch(() => undefined);
    }
    this.session?.send({ phaseResult: result });
  }

  /** Every frozen process still there: one killed meanwhile (SIGKILL reaches a traced
   * process) aborts the checkpoint here, before any image is written. */
  private checkMembersAlive(): void {
    for (const pid of this.frozen)
      if (!processAlive(pid)) {
        const n = this.names.get(pid);
        throw new Error(`process ${n?.nsPid ?? pid} (${n?.comm ?? commOf(pid)}) died during the checkpoint`);
      }
  }

  /** Tests of the abort path: CAIRN_TEST_KILL_IN_PHASE=PHASE kills the job's newest process
   * (not the main one) with SIGKILL when this agent gets PHASE, once. */
  private killMemberForTest(phase: string): void {
    if (process.env.CAIRN_TEST_KILL_IN_PHASE !== phase || this.killedForTest) return;
    const victim = this.frozen.filter((p) => p !== this.o.job.pid).sort((a, b) => b - a)[0];
    if (victim === undefined) return;
    this.killedForTest = true;
    process.kill(victim, 'SIGKILL');
    // A traced process dies at once but is seen dead only once the kernel has torn it down
    // (its memory freed: seconds for hundreds of MiB on a loaded machine).
    const end = Date.now() + 10_000;
    while (processAlive(victim) && Date.now() < end) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
  private killedForTest = false;

  private checkAlive(): void {
    if (this.exited) throw new Error(`process ${this.o.job.nsPid} (${this.comm}) exited during the checkpoint`);
  }

  /** Freezes every process of the job, parents before children, until no process is left
   * running that could fork another: a parent frozen while its vfork child runs stops as soon
   * as the child has exec'd. Zombies are noted, not frozen. */
  private async suspend(): Promise<void> {
    this.checkAlive();
    this.frozenAt = Date.now();
    this.frozen = [];
    this.zombies = [];
    this.names.clear();
    try {
      for (let round = 0; ; round++) {
        const fresh = jobProcesses(this.o.job.initPid).filter((p) => !this.frozen.includes(p) && !isZombie(p));
        if (fresh.length === 0) break;
        if (round > 100) throw new Error('the job keeps starting processes faster than they can be stopped');
        for (const p of fresh) {
          try {
            await this.o.engine.freeze([p]);
            this.frozen.push(p);
            this.names.set(p, { nsPid: nsPidOf(p), comm: commOf(p) });
          } catch (e) {
            if (p !== this.o.job.pid && !processAlive(p)) continue;   // exited meanwhile: a zombie or gone
            throw e;
          }
        }
      }
      if (!this.frozen.includes(this.o.job.pid)) throw new Error(`process ${this.o.job.nsPid} (${this.comm}) exited during the checkpoint`);
      for (const p of this.frozen) {
        const parent = parentOf(p);
        if (this.frozen.includes(parent) && this.o.engine.sameMemory(parent, p)) {
          throw new Error(`pid ${p} (${commOf(p)}) shares its parent's memory (a vfork child that has not called exec, or clone with CLONE_VM): cannot be checkpointed`);
        }
      }
      // Every parent is frozen now: its zombie children stay as they are until it runs again.
      for (const p of jobProcesses(this.o.job.initPid)) {
        const z = isZombie(p) ? zombieInfo(p) : undefined;
        if (z) this.zombies.push(z);
      }
    } catch (e) {
      await this.thawAll().catch(() => undefined);
      throw e;
    }
  }

  /** CHECKPOINTED: each frozen process's state, and its pages either written now or held in
   * a copy-on-write snapshot until WRITTEN. */
  private async takeState(cmd: PhaseCommand__Output): Promise<void> {
    this.checkAlive();
    const stdioIdentity = [0, 1, 2].map((fd) => {
      try {
        const st = fs.fstatSync(fd, { bigint: true });
        return { dev: st.dev.toString(), ino: st.ino.toString() };
      } catch {
        return null;
      }
    });
    this.dumped = [];
    await this.dumpAll(cmd, stdioIdentity);
    await this.o.engine.dropPrecopies();   // of processes gone since: no stray image
    await this.dumpSysvIpc(this.dumped);
    // ... and so is a job whose processes share something cairn cannot share again.
    this.o.engine.checkJobRestorable(this.dumped.map((d) => d.image));
    // Without a snapshot, the pages are written now, while the process is frozen.
    await this.writePages(cmd, this.dumped.filter((d) => !d.snapshot));
  }

  /** An aborted checkpoint: its images are given up, and so is what the written-page trackers
   * saw since the last good one (the next image of every process is full). */
  private async forgetDumps(): Promise<void> {
    this.dumped = [];
    this.bases.clear();
    await this.o.engine.discardDumps(true).catch((e: unknown) => this.o.log(`agent: ${errorMessage(e)}`));
  }

  /** WRITTEN: the pages held in snapshots, then every image completed (metadata, header,
   * fsync). The job runs meanwhile. */
  private async finishImages(cmd: PhaseCommand__Output): Promise<ImageInfo[]> {
    const dumped = this.dumped;
    await this.writePages(cmd, dumped.filter((d) => !d.written));
    const images: ImageInfo[] = [];
    const bases = new Map<number, { file: string; image: Record<string, unknown>; chain: number }>();
    for (const d of dumped) {
      const { bytes, metaCrc } = finishImage(d.imagePath, d.image, d.pagesEnd, Number(d.image.pagesCodec ?? 0));
      const notes = ((d.image as { notes?: string[] }).notes ?? []).slice();
      const reads = new Set<string>();
      let stored = 0n;
      for (const v of (d.image.vmas ?? []) as Array<{ runs?: Array<{ file?: string; len: string }> }>)
        for (const r of v.runs ?? []) {
          if (r.file) reads.add(r.file.split('/')[0]!);
          else stored += BigInt(r.len);
        }
      images.push({ ...d.info, bytes, metaCrc32c: metaCrc, notes, reads: [...reads], stored: String(stored) });
      if (d.tracked) bases.set(d.pid, { file: `${genName(Number(cmd.generation))}/${d.info.file}`, image: d.image, chain: reads.size ? (this.bases.get(d.pid)?.chain ?? 0) + 1 : 0 });
    }
    this.dumped = [];
    this.bases = bases;
    return images;
  }

  /** Pages of these dumps (with progress). */
  private async writePages(cmd: PhaseCommand__Output, todo: DumpedImage[]): Promise<void> {
    if (todo.length === 0) return;
    await this.withProgress(cmd, todo.map((d) => [d.pid, d.snapshot ? 0 : rssAnon(d.pid)]), async (pending) => {
      for (const d of todo) {
        pending.delete(d.pid);   // the engine counts it from its plan on
        const res = await this.o.engine.finishDump(d.pid, d.pagesEnd);
        // The image the agent completed keeps its fields; the engine's copy brings the pages.
        const mine = d.image as { vmas?: Array<{ runs?: unknown }>; pagesBytes?: unknown; pagesCodec?: unknown; pageFrames?: unknown };
        const theirs = res.image as typeof mine;
        (mine.vmas ?? []).forEach((v, i) => (v.runs = theirs.vmas?.[i]?.runs));
        mine.pagesBytes = theirs.pagesBytes;
        mine.pagesCodec = theirs.pagesCodec;
        mine.pageFrames = theirs.pageFrames;
        d.pagesEnd = res.pagesEnd;
        d.written = true;
      }
    });
  }

  /** Progress of page writing for `cairn command --bcheckpoint`: what the engine has written
   * out of what it has planned, plus `pending` (pid -> bytes) of the processes still to do,
   * which `work` deletes as it starts each. The time goes to writeUs. */
  private async withProgress(cmd: PhaseCommand__Output, pending: Array<[number, number]>, work: (pending: Map<number, number>) => Promise<void>): Promise<void> {
    const t0 = process.hrtime.bigint();
    const left = new Map(pending);
    this.o.engine.resetProgress();
    const report = () => {
      const p = this.o.engine.progress();
      let rest = 0;
      for (const v of left.values()) rest += v;
      this.session?.send({ progress: { checkpointId: cmd.checkpointId, done: p.done, total: Math.max(p.done, p.total + rest) } });
    };
    const timer = setInterval(report, 250);
    try {
      await work(left);
    } finally {
      clearInterval(timer);
      this.writeUs += (process.hrtime.bigint() - t0) / 1000n;
    }
    report();
  }

  /** Where a process's image goes in this checkpoint, and whether it may refer to older ones. */
  private imagePlan(pid: number, cmd: PhaseCommand__Output) {
    const comm = commOf(pid).replace(/[^A-Za-z0-9._+-]/g, '_') || 'proc';
    const nsPid = this.o.job.pid === pid ? this.o.job.nsPid : nsPidOf(pid);
    const file = `${comm}.${this.memberId}.${nsPid || pid}${IMAGE_SUFFIX}`;
    const compress = cmd.compress || this.o.compress || 'none';
    const track = INCREMENTAL && compress === 'none';
    const last = this.bases.get(pid);
    const base = track && last && last.chain + 1 < FULL_EVERY ? { file: last.file, image: last.image } : undefined;
    return { comm, nsPid, file, imagePath: path.join(cmd.genDir, file), compress, track, base };
  }

  /** PRECOPIED: the memory of every large process copied into its image while the job runs
   * (with written-page tracking, compressed or not), so that the frozen phases store only
   * what it writes meanwhile. A process that cannot be copied so is simply dumped whole while
   * frozen. */
  private async precopyAll(cmd: PhaseCommand__Output): Promise<number> {
    this.precopied.clear();
    this.checkAlive();
    if (!PRECOPY || !INCREMENTAL) return 0;   // the copy needs the written-page tracker
    const todo = jobProcesses(this.o.job.initPid).filter((p) => !isZombie(p) && rssAnon(p) >= PRECOPY_MIN_BYTES);
    if (todo.length === 0) return 0;
    let stored = 0;
    await this.withProgress(cmd, todo.map((p) => [p, rssAnon(p)]), async (pending) => {
      for (const pid of todo) {
        pending.delete(pid);
        const { comm, nsPid, imagePath, compress, base } = this.imagePlan(pid, cmd);
        try {
          const r = await this.o.engine.precopy(pid, { imagePath, compress, base });
          stored += r.stored;
          if (!r.skipped) this.precopied.add(pid);
          if (r.skipped && !this.toldNoTracking.has(pid)) {
            this.toldNoTracking.add(pid);
            this.o.log(`agent: process ${nsPid} (${comm}): every image full: ${r.skipped}`);
          }
        } catch (e) {
          if (processAlive(pid)) this.o.log(`agent: process ${nsPid} (${comm}): memory not copied before the freeze: ${errorMessage(e)}`);
        }
      }
    });
    return stored;
  }

  private async dumpAll(cmd: PhaseCommand__Output, stdioIdentity: Array<{ dev: string; ino: string } | null>): Promise<void> {
    for (const pid of this.frozen) {
      const { comm, nsPid, file, imagePath, compress, track, base } = this.imagePlan(pid, cmd);
      // A copy made before the freeze has its base: the old image is not handed over again
      // (made into the engine's own form, 4 GiB of memory is 25 ms of the pause).
      const res = await this.o.engine.dump(pid, { imagePath, stdioIdentity, timeOffsets: this.o.timeOffsets, compress, snapshot: SNAPSHOTS, reaper: this.o.job.initPid, track, base: this.precopied.has(pid) ? undefined : base });
      if (SNAPSHOTS && !res.snapshot && res.noSnapshot) this.o.log(`agent: process ${nsPid} (${comm}): written while frozen: ${res.noSnapshot}`);
      if (track && res.noTracking && !this.toldNoTracking.has(pid)) {
        this.toldNoTracking.add(pid);   // once: it would be the same at every checkpoint
        this.o.log(`agent: process ${nsPid} (${comm}): every image full: ${res.noTracking}`);
      }
      const image = res.image as { fds?: Array<{ fd: number; ofd?: number }>; zombies?: unknown[]; ttyStdio?: number; ttyTermios?: Buffer };
      if (pid === this.o.job.pid) {
        // A full-screen or line-editing program left the terminal in its own mode.
        for (const k of [0, 1, 2]) {
          const mode = this.o.engine.ttyGet(k);
          if (!mode) continue;
          image.ttyStdio = k + 1;
          image.ttyTermios = mode;
          break;
        }
      }
      for (const f of image.fds ?? []) f.ofd = this.ofds.get(`${pid}:${f.fd}`) ?? 0;
      image.zombies = this.zombies.filter((z) => z.hostPpid === pid).map((z) => ({ nsPid: z.nsPid, status: z.status, nsPgid: z.nsPgid, nsSid: z.nsSid, comm: z.comm }));
      // An image that could never be restored is refused now, while the job is frozen.
      this.o.engine.checkRestorable(res.image, 3);
      this.dumped.push({ pid, imagePath, image: res.image, pagesEnd: res.extrasEnd, written: false, snapshot: res.snapshot, tracked: track && !res.noTracking, info: { file, nsPid: Number((res.image as { nsPid?: number }).nsPid ?? nsPid), comm } });
    }
    this.precopied.clear();   // those copies are continued, or given up
  }

  /** The job's cairn-ipc, started again if it has ended (or failed). */
  private sysvIpc(): SysvIpcServer {
    if (!this.ipcServer?.alive) this.ipcServer = new SysvIpcServer(nativePaths().ipc, this.o.job.initPid);
    return this.ipcServer;
  }

  /** The job's SysV IPC objects (its IPC namespace dies with it): cairn-ipc joins the job's
   * namespaces and writes them after the main process's page data, once for the job. Then
   * every shmat mapping is checked against the segments found (a piece of a segment cannot be
   * attached again) and a segment marked for deletion gets the flag that removes it again. */
  private async dumpSysvIpc(dumped: DumpedImage[]): Promise<void> {
    const nsOf = (pid: number) => fs.statSync(`/proc/${pid}/ns/ipc`).ino;
    const jobNs = nsOf(this.o.job.initPid);
    for (const d of dumped) {
      if (nsOf(d.pid) !== jobNs) throw new Error(`pid ${d.info.nsPid} (${d.info.comm}) has an IPC namespace of its own (unshare or clone with CLONE_NEWIPC): cannot be checkpointed`);
    }
    const main = dumped.find((d) => d.pid === this.o.job.pid);
    if (!main) throw new Error(`process ${this.o.job.nsPid} (${this.comm}) was not dumped`);
    const r = await this.sysvIpc().dump(main.imagePath, main.pagesEnd);
    const shms = new Map(r.objects.filter((o) => o.kind === 'shm').map((o) => [o.id, o]));
    const hex = (n: number | bigint) => `0x${n.toString(16)}`;
    for (const d of dumped) {
      for (const v of (d.image.vmas ?? []) as Array<{ kind: number; start: string; end: string; pgoff: string; flags: number; sysvShmid: number }>) {
        if (v.kind !== VMA_SYSV_SHM) continue;
        const s = shms.get(v.sysvShmid);
        const what = `pid ${d.info.nsPid} (${d.info.comm}): SysV shm ${s ? `key ${hex(s.key >>> 0)} ` : ''}id ${v.sysvShmid} at ${hex(BigInt(v.start))}`;
        if (!s) throw new Error(`${what}: the segment is not in the job's IPC namespace`);
        const len = BigInt(v.end) - BigInt(v.start);
        if (BigInt(v.pgoff) !== 0n || len !== ((BigInt(s.size) + 4095n) & ~4095n)) {
          throw new Error(`${what}: only part of the segment is mapped (munmap or mprotect of a piece): cannot be checkpointed`);
        }
        if (s.mode & SHM_DEST) v.flags |= VMA_FLAG_SYSV_RMID;
      }
    }
    if (r.length === 0) return;
    const count = (k: string) => r.objects.filter((o) => o.kind === k).length;
    main.image.sysvIpc = { offset: String(main.pagesEnd), length: String(r.length), crc32c: r.crc32c, shm: count('shm'), sem: count('sem'), msg: count('msg') };
    main.pagesEnd += r.length;
  }

  /** Put back what was drained from connections to other hosts (their agents do the same
   * now), then let the job run. */
  private async echoThenThaw(): Promise<number> {
    await loadTcpRemote()
      .echoPending(REMOTE_TCP_TIMEOUT_MS)
      .catch((e: unknown) => this.o.log(`agent: ${errorMessage(e)}`));
    return this.thawAll();
  }

  private async thawAll(): Promise<number> {
    if (this.frozen.length === 0) return 0;
    const pids = this.frozen;
    this.frozen = [];
    await this.o.engine.thaw(pids);
    this.releaseHeldLater();
    return (Date.now() - this.frozenAt) * 1000;
  }

  /** A writer whose bytes in flight did not fit back stays held (as if blocked in write)
   * while the engine sends them as its reader makes room; it is let go as soon as they are
   * in. Polled: the engine's tracer thread must do the letting go. */
  releaseHeldLater(): void {
    if (this.releasing) return;
    this.releasing = true;
    const tick = async (): Promise<void> => {
      const r = await this.o.engine.releaseHeld().catch((e: unknown) => ({ held: 0, errors: [errorMessage(e)] }));
      for (const e of r.errors) this.o.log(`agent: ${e}`);
      if (r.held > 0 && !this.exited) {
        setTimeout(() => void tick(), 50);
        return;
      }
      this.releasing = false;
    };
    void tick();
  }
  private releasing = false;
}

/** What an agent does first once it serves a job (the control schema parsed, the image
 * codec compiled), done ahead: a launch or restart calls it while its coordinator starts. */
export function warmAgent(): void {
  cairnProto();
  warmImageCodec();
}

/** Registers the job and serves it until it ends; returns its exit status. A job the
 * coordinator will not take is killed rather than left running unmanaged. */
export async function serveJob(o: AgentOptions, forward: (pid: number) => () => void): Promise<number> {
  const agent = new Agent(o);
  // A restore may leave writers held until their bytes in flight are sent.
  agent.releaseHeldLater();
  try {
    await agent.connect();
  } catch (e) {
    await o.engine.kill(o.job);
    throw e;
  }
  const stopForwarding = forward(o.job.pid);
  const status = await agent.run();
  stopForwarding();
  o.engine.close();
  return status;
}
