// One checkpoint of the job, from the first freeze to the thaw: the barrier phases, the
// commit of the generation, and on any failure the abort that thaws every member and
// removes the partial generation (so `latest` keeps naming the last good one).
import fsp from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../common/errors.js';
import type { CoordinatorMessage } from '../gen/cairn/v1/CoordinatorMessage.js';
import type { ImageInfo__Output } from '../gen/cairn/v1/ImageInfo.js';
import type { Manifest } from '../gen/cairn/v1/Manifest.js';
import type { Phase } from '../gen/cairn/v1/Phase.js';
import type { PhaseResult__Output } from '../gen/cairn/v1/PhaseResult.js';
import { commitGeneration } from './commit.js';
import { partialName } from './generations.js';
import type { Member } from './member.js';
import { PhaseBarrier, PhaseFailed } from './phase-barrier.js';
import type { TcpEnd } from '../gen/cairn/v1/TcpEnd.js';

/** The phases while the job is frozen, in order (after PRECOPIED, while it runs). CHECKPOINTED takes each process's state and
 * either a copy-on-write snapshot of its memory or (without one) its pages; RESUMED lets the
 * job run; WRITTEN finishes the images from the snapshots. Then the commit. */
const FREEZE_PHASES = ['SUSPENDED', 'FD_LEADER', 'DRAINED', 'CHECKPOINTED'] as const;

export interface CheckpointPlan {
  checkpointId: string;
  generation: number;
  jobDir: string;
  participants: Member[];
  /** Every member whose stream is open when the run aborts (they all get ABORTED). */
  connectedMembers: () => Member[];
  phaseTimeoutMs: number;
  writeTimeoutMs: number;
  /** Page data codec for this checkpoint ('' = each agent's own setting). */
  compress: string;
  /** The manifest for the images the members reported. */
  manifest: (images: Map<number, ImageInfo__Output[]>) => Manifest;
  log: (line: string) => void;
}

export interface CheckpointOutcome {
  ok: boolean;
  error: string;
  generation: number;
  /** The committed gen-N directory ('' if nothing was committed). */
  genDir: string;
  committed: boolean;
  bytes: bigint;
  durationUs: bigint;
  pauseUs: bigint;
  /** Images per member id (WRITTEN results), for the restart script. */
  images: Map<number, ImageInfo__Output[]>;
  /** Each member's own image writing; `precopied`: bytes of it copied before the freeze. */
  writes: Array<{ host: string; bytes: bigint; writeUs: bigint; precopied: bigint }>;
}

export class CheckpointRun {
  private current?: PhaseBarrier;
  private abortReason?: string;
  readonly partialDir: string;

  constructor(readonly plan: CheckpointPlan) {
    this.partialDir = path.join(plan.jobDir, partialName(plan.generation));
  }

  get generation(): number {
    return this.plan.generation;
  }

  /** Route a PhaseResult from a member; false if it belongs to no phase in progress. */
  deliver(member: Member, result: PhaseResult__Output): boolean {
    return this.current?.deliver(member, result) ?? false;
  }

  /** A member's stream closed or its job exited. */
  memberLost(member: Member, why: string): void {
    if (!this.plan.participants.includes(member)) return;
    this.abort(`${member.label}: ${why}`);
  }

  /** Stop this checkpoint as soon as possible (kill, shutdown, a member joined). Once the
   * generation is committed it stays committed. */
  abort(detail: string): void {
    this.abortReason ??= detail;
    this.current?.fail(detail);
  }

  async run(): Promise<CheckpointOutcome> {
    const started = process.hrtime.bigint();
    const { plan } = this;
    const outcome: CheckpointOutcome = {
      ok: false,
      error: '',
      generation: plan.generation,
      genDir: '',
      committed: false,
      bytes: 0n,
      durationUs: 0n,
      pauseUs: 0n,
      writes: [],
      images: new Map(),
    };
    const finish = () => {
      outcome.durationUs = (process.hrtime.bigint() - started) / 1000n;
      for (const m of plan.participants) m.phase = undefined;
      this.current = undefined;
      return outcome;
    };

    try {
      await fsp.rm(this.partialDir, { recursive: true, force: true });
      await fsp.mkdir(this.partialDir, { mode: 0o700 });
    } catch (err) {
      // Nothing is frozen yet: there is nothing to thaw.
      outcome.error = `checkpoint failed before SUSPENDED: cannot create ${this.partialDir}: ${errorMessage(err)}`;
      return finish();
    }

    let phase = 'PRECOPIED';
    try {
      // The job runs: large processes' memory is copied now, and only what they write
      // meanwhile is left for the frozen phases.
      const precopied = await this.barrier('PRECOPIED', plan.writeTimeoutMs);
      let results = new Map<number, PhaseResult__Output>();
      let remote = new Map<number, TcpEnd[]>();
      for (const p of FREEZE_PHASES) {
        phase = p;
        results = await this.barrier(p, p === 'CHECKPOINTED' ? plan.writeTimeoutMs : plan.phaseTimeoutMs, p === 'DRAINED' ? remote : undefined);
        if (p === 'FD_LEADER') remote = matchTcpEnds(results);
      }
      phase = 'RESUMED';
      const resumed = await this.barrier('RESUMED', plan.phaseTimeoutMs);
      for (const r of resumed.values()) {
        const p = BigInt(r.pauseUs || '0');
        if (p > outcome.pauseUs) outcome.pauseUs = p;
      }
      phase = 'WRITTEN';
      results = await this.barrier('WRITTEN', plan.writeTimeoutMs);
      for (const m of plan.participants) {
        const images = results.get(m.id)?.images ?? [];
        outcome.images.set(m.id, images);
        const bytes = images.reduce((n, img) => n + BigInt(img.bytes || '0'), 0n);
        outcome.bytes += bytes;
        outcome.writes.push({ host: m.host, bytes, writeUs: BigInt(results.get(m.id)?.writeUs || '0'), precopied: BigInt(precopied.get(m.id)?.precopied || '0') });
      }
      phase = 'COMMIT';
      if (this.abortReason) throw new PhaseFailed(this.abortReason);
      outcome.genDir = await commitGeneration({
        jobDir: plan.jobDir,
        partialDir: this.partialDir,
        generation: plan.generation,
        manifest: plan.manifest(outcome.images),
      });
      outcome.committed = true;
      outcome.ok = true;
    } catch (err) {
      // ABORTED thaws whoever is still frozen and drops the snapshots; after RESUMED the job
      // runs on untouched. The previous generation stays the latest.
      outcome.error = `checkpoint aborted in ${phase}: ${errorMessage(err)}`;
      this.broadcastAbort();
      await fsp.rm(this.partialDir, { recursive: true, force: true }).catch((e: unknown) => {
        plan.log(`cannot remove ${this.partialDir}: ${errorMessage(e)}`);
      });
      return finish();
    }
    return finish();
  }

  private async barrier(phase: string, timeoutMs: number, remote?: Map<number, TcpEnd[]>): Promise<Map<number, PhaseResult__Output>> {
    // A member lost between two phases (or an abort request) ends the run before the next.
    if (this.abortReason) throw new PhaseFailed(this.abortReason);
    const { plan } = this;
    const barrier = new PhaseBarrier(plan.checkpointId, phase, plan.participants, timeoutMs);
    this.current = barrier;
    const cmd: CoordinatorMessage = {
      phase: { checkpointId: plan.checkpointId, phase: phase as Phase, genDir: this.partialDir, generation: plan.generation, compress: plan.compress },
    };
    for (const m of plan.participants) {
      const mine = remote?.get(m.id);
      m.send(mine?.length ? { phase: { ...cmd.phase!, remoteTcp: mine } } : cmd);
    }
    try {
      return await barrier.done;
    } finally {
      this.current = undefined;
    }
  }

  private broadcastAbort(): void {
    const cmd: CoordinatorMessage = {
      phase: { checkpointId: this.plan.checkpointId, phase: 'ABORTED', genDir: '', generation: this.plan.generation },
    };
    for (const m of this.plan.connectedMembers()) m.send(cmd);
  }
}

/** TCP connections between hosts of the job: an end one member reported at FD_LEADER whose
 * other end (the addresses swapped) another member reported. Each end learns what its
 * other end wrote: everything it must receive before it drains. The rest are outside. */
export function matchTcpEnds(results: Map<number, PhaseResult__Output>): Map<number, TcpEnd[]> {
  const byTuple = new Map<string, { member: number; written: string }>();
  for (const [id, r] of results) for (const e of r.tcpEnds ?? []) byTuple.set(`${e.local}>${e.peer}`, { member: id, written: e.written });
  const out = new Map<number, TcpEnd[]>();
  for (const [id, r] of results)
    for (const e of r.tcpEnds ?? []) {
      const other = byTuple.get(`${e.peer}>${e.local}`);
      if (!other || other.member === id) continue;
      out.set(id, [...(out.get(id) ?? []), { local: e.local, peer: e.peer, written: other.written }]);
    }
  return out;
}
