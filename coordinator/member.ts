// One member of the job: an agent and its long-lived Session stream.
import type * as grpc from '@grpc/grpc-js';
import type { AgentMessage__Output } from '../gen/cairn/v1/AgentMessage.js';
import type { CoordinatorMessage } from '../gen/cairn/v1/CoordinatorMessage.js';
import type { ProcessInfo__Output } from '../gen/cairn/v1/ProcessInfo.js';
import type { Register__Output } from '../gen/cairn/v1/Register.js';

export type SessionCall = grpc.ServerDuplexStream<AgentMessage__Output, CoordinatorMessage>;

/** running: its job processes run; exited: it reported JobExited; disconnected: its
 * stream closed while its processes were running. */
export type MemberState = 'running' | 'exited' | 'disconnected';

export class Member {
  state: MemberState = 'running';
  exitStatus?: number;
  /** The last checkpoint phase this member finished, while a checkpoint runs. */
  phase?: string;
  /** Its last Progress of the checkpoint in progress. */
  progress?: { checkpointId: string; done: number; total: number };
  processes: ProcessInfo__Output[];
  private streamOpen = true;

  constructor(
    readonly id: number,
    readonly registration: Register__Output,
    private readonly call: SessionCall,
  ) {
    this.processes = registration.processes;
  }

  get host(): string {
    return this.registration.host;
  }
  get agentPid(): number {
    return this.registration.agentPid;
  }
  get cwd(): string {
    return this.registration.cwd;
  }
  /** How errors name this member: `host node1 pid 4242`. */
  get label(): string {
    return `host ${this.host || '?'} pid ${this.agentPid}`;
  }
  get connected(): boolean {
    return this.streamOpen;
  }
  get running(): boolean {
    return this.state === 'running';
  }

  /** What `cairn status` shows. */
  describeState(): string {
    if (this.state === 'exited') return `exited (status ${this.exitStatus ?? '?'})`;
    if (this.state === 'disconnected') return 'disconnected';
    return this.phase ?? 'running';
  }

  /** Send if the stream is still open; false when the member can no longer be reached. */
  send(msg: CoordinatorMessage): boolean {
    if (!this.streamOpen) return false;
    try {
      // write() returning false only means "buffered": the message still goes out.
      this.call.write(msg);
      return true;
    } catch {
      return false;
    }
  }

  /** The stream is gone (ended, cancelled or failed); returns false if it already was. */
  markStreamClosed(): boolean {
    if (!this.streamOpen) return false;
    this.streamOpen = false;
    if (this.state === 'running') this.state = 'disconnected';
    return true;
  }

  /** End our side of the stream with OK. */
  endStream(): void {
    this.streamOpen = false;
    try {
      this.call.end();
    } catch {
      // already ended
    }
  }
}
