// The one job a coordinator runs: its id and directory (fixed by the first Register) and
// its members.
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Register__Output } from '../gen/cairn/v1/Register.js';
import { latestGeneration, listGenerations, removeStalePartials } from './generations.js';
import { isValidJobId, newJobId } from './job-naming.js';
import { Member, type SessionCall } from './member.js';
import { readManifest } from '../common/manifest-read.js';
import { genName } from './generations.js';

export class RegisterRefused extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = 'RegisterRefused';
  }
}

export class Job {
  jobId?: string;
  jobDir?: string;
  /** The command line of the first member that gave one (the launch), for the manifest. */
  argv: string[] = [];
  readonly members = new Map<number, Member>();
  private nextMemberId = 1;

  constructor(
    private readonly ckptDir: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Admit an agent. The first Register names the job and prepares its directory. */
  register(reg: Register__Output, call: SessionCall): Member {
    const asked = reg.jobId.trim();
    if (asked && !isValidJobId(asked)) {
      throw new RegisterRefused(grpc.status.INVALID_ARGUMENT, `invalid job id ${JSON.stringify(asked)}`);
    }
    if (this.jobId === undefined) {
      const jobId = asked || newJobId(reg.jobName);
      const jobDir = path.join(this.ckptDir, jobId);
      try {
        fs.mkdirSync(jobDir, { recursive: true, mode: 0o700 });
        // A crash during a checkpoint leaves a partial generation: never a valid one.
        for (const name of removeStalePartials(jobDir)) this.log(`removed ${name}, left by an interrupted checkpoint`);
      } catch (err) {
        throw new RegisterRefused(grpc.status.FAILED_PRECONDITION, `cannot prepare job directory ${jobDir}: ${(err as Error).message}`);
      }
      this.jobId = jobId;
      this.jobDir = jobDir;
      this.log(`job ${jobId}${reg.restarted ? ` restarted from generation ${reg.generation}` : ''}: directory ${jobDir}`);
    } else if (asked && asked !== this.jobId) {
      throw new RegisterRefused(
        grpc.status.FAILED_PRECONDITION,
        `this coordinator runs job ${this.jobId}, not job ${asked}: start another coordinator for it`,
      );
    }
    if (this.argv.length === 0 && reg.argv.length > 0) this.argv = [...reg.argv];
    if (reg.restarted) this.noteRestored(reg.generation);
    const member = new Member(this.nextMemberId++, reg, call);
    this.members.set(member.id, member);
    return member;
  }

  /** A restart on several hosts: how many of the generation's hosts are back. Until all
   * are, a checkpoint would miss the others' processes (and call their connections
   * outside the job). */
  private restoring?: { generation: number; hosts: number; back: number };

  private noteRestored(generation: number): void {
    if (!this.restoring) {
      let hosts = 1;
      try {
        hosts = readManifest(path.join(this.jobDir!, genName(generation))).hosts.length;
      } catch {
        // single images, or a generation removed meanwhile: nothing to wait for
      }
      this.restoring = { generation, hosts, back: 0 };
    }
    if (this.restoring.generation === generation) this.restoring.back++;
  }

  /** Why no checkpoint can start yet ('' when it can). */
  get notWhole(): string {
    const r = this.restoring;
    return r && r.back < r.hosts ? `the job is still being restored: ${r.back} of the ${r.hosts} hosts of generation ${r.generation} are back` : '';
  }

  /** The highest generation on disk (committed or not yet pruned), 0 if none. */
  highestGeneration(): number {
    return this.jobDir ? (listGenerations(this.jobDir)[0] ?? 0) : 0;
  }

  latestGeneration(): number {
    return this.jobDir ? latestGeneration(this.jobDir) : 0;
  }

  all(): Member[] {
    return [...this.members.values()];
  }
  running(): Member[] {
    return this.all().filter((m) => m.running && m.connected);
  }
  connected(): Member[] {
    return this.all().filter((m) => m.connected);
  }
  get isRunning(): boolean {
    return this.running().length > 0;
  }
  /** Every member that ever registered has exited or disconnected. */
  get everyoneLeft(): boolean {
    return this.members.size > 0 && this.all().every((m) => !m.running);
  }
}
