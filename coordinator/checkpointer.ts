// When checkpoints happen: one at a time (a request during one joins it), on demand or
// every intervalS seconds after the previous one ended; and what follows a commit (the
// restart script, pruning old generations).
import path from 'node:path';
import { errorMessage } from '../common/errors.js';
import type { PhaseResult__Output } from '../gen/cairn/v1/PhaseResult.js';
import { CheckpointRun, type CheckpointOutcome } from './checkpoint-run.js';
import { pruneGenerations } from './generations.js';
import type { Job } from './job.js';
import { buildManifest } from './manifest.js';
import type { Member } from './member.js';
import type { ResolvedOptions } from './options.js';
import { writeRestartScript } from './restart-script.js';

export const NO_JOB_MESSAGE = 'no job is running: start one with cairn launch';

export interface ActiveCheckpoint {
  run: CheckpointRun;
  outcome: Promise<CheckpointOutcome>;
}

export class Checkpointer {
  lastError = '';
  private active?: ActiveCheckpoint;
  private nextCheckpointId = 1n;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly job: Job,
    private readonly opts: ResolvedOptions,
  ) {}

  get inProgress(): boolean {
    return this.active !== undefined;
  }

  /** Id of the checkpoint in progress ('' if none). */
  get activeId(): string {
    return this.active?.run.plan.checkpointId ?? '';
  }

  /** Start a checkpoint, or join the one in progress; a string is why none can run. */
  request(compress = ''): ActiveCheckpoint | string {
    if (this.active) return this.active;
    if (this.stopped) return 'the coordinator is shutting down';
    const jobDir = this.job.jobDir;
    const participants = this.job.running();
    if (!jobDir || participants.length === 0) return NO_JOB_MESSAGE;
    if (this.job.notWhole) return this.job.notWhole;

    const generation = this.job.highestGeneration() + 1;
    const { opts, job } = this;
    const run = new CheckpointRun({
      checkpointId: String(this.nextCheckpointId++),
      generation,
      jobDir,
      participants,
      connectedMembers: () => job.connected(),
      phaseTimeoutMs: opts.phaseTimeoutS * 1000,
      writeTimeoutMs: opts.writeTimeoutS * 1000,
      compress,
      manifest: (images) =>
        buildManifest({
          jobId: job.jobId!,
          generation,
          createdUnixMs: String(Date.now()),
          // By host name, numbers in names compared as numbers (node2 before node10): the
          // order `restart --hosts/--hostfile` maps onto, the same whatever order the
          // members joined in.
          hosts: participants
            .map((m) => ({ host: m.host, cwd: m.cwd, images: images.get(m.id) ?? [] }))
            .sort((a, b) => a.host.localeCompare(b.host, 'en', { numeric: true })),
          intervalS: Math.round(opts.intervalS),
          coordPort: opts.port,
          argv: job.argv,
        }),
      log: opts.log,
    });
    this.disarmInterval();
    opts.log(`checkpoint ${generation}: ${participants.length} member(s)`);
    const outcome = run
      .run()
      .catch((err: unknown): CheckpointOutcome => ({
        ok: false, error: `checkpoint ${generation} failed: ${errorMessage(err)}`, generation, genDir: '', committed: false,
        bytes: 0n, durationUs: 0n, pauseUs: 0n, images: new Map(), writes: [],
      }))
      .then((o) => this.finished(run, o));
    const active = { run, outcome };
    this.active = active;
    return active;
  }

  deliver(member: Member, result: PhaseResult__Output): void {
    if (this.active?.run.deliver(member, result)) return;
    // Late answers to a phase that already ended (timeout, abort) are expected.
    this.opts.log(`ignored ${result.phase} result of checkpoint ${result.checkpointId} from member ${member.id} (${member.label})`);
  }

  memberLost(member: Member, why: string): void {
    this.active?.run.memberLost(member, why);
  }

  abort(detail: string): void {
    this.active?.run.abort(detail);
  }

  /** Interval checkpoints count from now (the first Register, or a checkpoint's end). */
  armInterval(): void {
    this.disarmInterval();
    if (this.stopped || this.opts.intervalS <= 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.active || !this.job.isRunning) return;
      const started = this.request();
      if (typeof started === 'string') {
        this.opts.log(`interval checkpoint not started: ${started}`);
        // Not a failed checkpoint: try again one interval later.
        if (this.job.notWhole) this.armInterval();
      }
    }, this.opts.intervalS * 1000);
  }

  get intervalArmed(): boolean {
    return this.timer !== undefined;
  }

  disarmInterval(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** No new checkpoints; the one in progress is aborted and awaited. */
  async stop(detail: string): Promise<void> {
    this.stopped = true;
    this.disarmInterval();
    const active = this.active;
    if (active) {
      active.run.abort(detail);
      await active.outcome;
    }
  }

  private async finished(run: CheckpointRun, o: CheckpointOutcome): Promise<CheckpointOutcome> {
    const { opts } = this;
    if (o.ok) {
      this.lastError = '';
      opts.log(`checkpoint ${o.generation} committed: ${o.genDir}, ${o.bytes} bytes, ${o.durationUs / 1000n} ms, paused ${o.pauseUs / 1000n} ms`);
    } else {
      this.lastError = o.error;
      opts.log(o.error);
    }
    if (o.committed) await this.afterCommit(run, o);
    this.active = undefined;
    if (!this.stopped && this.job.isRunning) this.armInterval();
    return o;
  }

  /** The generation is safe already; failures here are reported, not fatal. */
  private async afterCommit(run: CheckpointRun, o: CheckpointOutcome): Promise<void> {
    const { opts, job } = this;
    const jobDir = job.jobDir!;
    for (const imgs of o.images.values()) for (const i of imgs) for (const n of i.notes ?? []) opts.log(`generation ${o.generation}: note: ${n}`);
    try {
      await writeRestartScript({
        jobId: job.jobId!,
        generation: o.generation,
        date: new Date(),
        hosts: run.plan.participants.map((m) => ({ host: m.host, cwd: m.cwd, images: o.images.get(m.id)?.length ?? 0 })),
        jobDir,
        ckptDir: opts.ckptDir,
        coordPort: opts.port,
        portFile: opts.portFile,
        intervalS: opts.intervalS,
        cairnBin: opts.cairnBin,
      });
    } catch (err) {
      this.lastError = `generation ${o.generation} committed, but ${path.join(opts.ckptDir, 'cairn_restart.sh')} was not written: ${errorMessage(err)}`;
      opts.log(this.lastError);
    }
    try {
      const removed = await pruneGenerations(jobDir, opts.keep);
      if (removed.length) opts.log(`removed old generations: ${removed.join(' ')}`);
    } catch (err) {
      opts.log(`cannot remove old generations: ${errorMessage(err)}`);
    }
  }
}
