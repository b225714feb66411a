// AgentSession.Session: one long-lived stream per agent. The first message registers the
// member; then phase results, heartbeats and the job's exit arrive on it, and phase
// commands and Stop go back.
import * as grpc from '@grpc/grpc-js';
import type { AgentMessage__Output } from '../gen/cairn/v1/AgentMessage.js';
import type { AgentSessionHandlers } from '../gen/cairn/v1/AgentSession.js';
import type { JobExited__Output } from '../gen/cairn/v1/JobExited.js';
import type { PhaseResult__Output } from '../gen/cairn/v1/PhaseResult.js';
import type { ProcessInfo__Output } from '../gen/cairn/v1/ProcessInfo.js';
import type { Register__Output } from '../gen/cairn/v1/Register.js';
import { callIsAuthorized, unauthenticated } from './auth.js';
import type { Member, SessionCall } from './member.js';

/** What the session needs from the coordinator. */
export interface SessionHost {
  secret: string;
  /** Returns the member, or throws an error carrying a gRPC `code`. */
  register(reg: Register__Output, call: SessionCall): Member;
  phaseResult(member: Member, result: PhaseResult__Output): void;
  heartbeat(member: Member, processes: ProcessInfo__Output[]): void;
  jobExited(member: Member, exited: JobExited__Output): void;
  streamClosed(member: Member, why: string): void;
  log(line: string): void;
}

function refuse(call: SessionCall, code: grpc.status, details: string): void {
  call.emit('error', { code, details });
}

export function agentSessionHandlers(host: SessionHost): AgentSessionHandlers {
  return {
    Session(call: SessionCall) {
      if (!callIsAuthorized(call.metadata, host.secret)) {
        refuse(call, grpc.status.UNAUTHENTICATED, unauthenticated().details!);
        return;
      }
      let member: Member | undefined;
      let refused = false;
      const closed = (why: string) => {
        if (member) host.streamClosed(member, why);
      };
      call.on('data', (msg: AgentMessage__Output) => {
        if (refused) return;
        if (!member) {
          if (msg.msg !== 'register' || !msg.register) {
            refused = true;
            refuse(call, grpc.status.FAILED_PRECONDITION, 'the first message of a session must be Register');
            return;
          }
          try {
            member = host.register(msg.register, call);
          } catch (err) {
            refused = true;
            const code = (err as { code?: unknown }).code;
            refuse(call, typeof code === 'number' ? code : grpc.status.INTERNAL, (err as Error).message.split('\n')[0]!);
          }
          return;
        }
        switch (msg.msg) {
          case 'phaseResult':
            if (msg.phaseResult) host.phaseResult(member, msg.phaseResult);
            break;
          case 'heartbeat':
            if (msg.heartbeat) host.heartbeat(member, msg.heartbeat.processes);
            break;
          case 'jobExited':
            if (msg.jobExited) host.jobExited(member, msg.jobExited);
            break;
          case 'progress':
            if (msg.progress) member.progress = { checkpointId: String(msg.progress.checkpointId), done: Number(msg.progress.done), total: Number(msg.progress.total) };
            break;
          case 'register':
            host.log(`member ${member.id} (${member.label}) registered twice; ignored`);
            break;
          default:
            break;
        }
      });
      // The agent finished its side: finish ours, so the call completes with OK.
      call.on('end', () => {
        closed('agent disconnected');
        try {
          call.end();
        } catch {
          // already ended
        }
      });
      call.on('cancelled', () => closed('agent disconnected'));
      call.on('error', () => closed('agent disconnected'));
      call.on('close', () => closed('agent disconnected'));
    },
  };
}
