// One phase of the checkpoint barrier: every participant must answer ok for this
// checkpoint id and phase before anyone may go on. The first failure ends the phase at
// once; silence ends it at the timeout, naming who did not answer.
import type { PhaseResult__Output } from '../gen/cairn/v1/PhaseResult.js';
import type { Member } from './member.js';

export class PhaseFailed extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'PhaseFailed';
  }
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

export class PhaseBarrier {
  readonly results = new Map<number, PhaseResult__Output>();
  readonly done: Promise<Map<number, PhaseResult__Output>>;
  private readonly waiting: Map<number, Member>;
  private settled = false;
  private timer?: NodeJS.Timeout;
  private resolve!: (r: Map<number, PhaseResult__Output>) => void;
  private reject!: (e: PhaseFailed) => void;

  constructor(
    readonly checkpointId: string,
    readonly phase: string,
    members: Member[],
    timeoutMs: number,
  ) {
    this.waiting = new Map(members.map((m) => [m.id, m]));
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Failures surface through `done`; nobody may be awaiting it yet.
    this.done.catch(() => undefined);
    this.timer = setTimeout(() => {
      const silent = [...this.waiting.values()].map((m) => m.label).join(', ');
      this.fail(`no answer within ${seconds(timeoutMs)} from ${silent}`);
    }, timeoutMs);
    for (const m of members) if (!m.connected) this.fail(`${m.label}: agent disconnected`);
    if (this.waiting.size === 0) this.finish();
  }

  /** Offer a result; returns false if it does not belong to this phase. */
  deliver(member: Member, result: PhaseResult__Output): boolean {
    if (this.settled || result.checkpointId !== this.checkpointId || result.phase !== this.phase) return false;
    if (!this.waiting.has(member.id)) return false;
    if (!result.ok) {
      this.fail(`${member.label}: ${oneLine(result.error) || 'failed without saying why'}`);
      return true;
    }
    this.waiting.delete(member.id);
    this.results.set(member.id, result);
    member.phase = this.phase;
    if (this.waiting.size === 0) this.finish();
    return true;
  }

  /** A participant can no longer answer (stream closed, job exited). */
  memberLost(member: Member, why: string): void {
    if (this.waiting.has(member.id) || this.results.has(member.id)) this.fail(`${member.label}: ${why}`);
  }

  fail(detail: string): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.reject(new PhaseFailed(detail));
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.resolve(this.results);
  }
}

export function oneLine(s: string): string {
  return (s ?? '').split('\n')[0]!.trim();
}
