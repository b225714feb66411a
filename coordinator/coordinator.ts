// The cairn coordinator: one gRPC server per job, with the agents' sessions
// (AgentSession) and the user's commands (Control). It owns the job's members, drives the
// checkpoint barrier and commits generations (see checkpointer.ts, checkpoint-run.ts).
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { UserError, errorMessage } from '../common/errors.js';
import { cairnProto } from '../common/proto.js';
import type { JobExited__Output } from '../gen/cairn/v1/JobExited.js';
import type { PhaseResult__Output } from '../gen/cairn/v1/PhaseResult.js';
import type { ProcessInfo__Output } from '../gen/cairn/v1/ProcessInfo.js';
import type { Register__Output } from '../gen/cairn/v1/Register.js';
import type { StatusReply } from '../gen/cairn/v1/StatusReply.js';
import { agentSessionHandlers, type SessionHost } from './agent-session.js';
import { Checkpointer, type ActiveCheckpoint } from './checkpointer.js';
import { controlHandlers, type ControlHost } from './control-service.js';
import { Rendezvous } from './rendezvous.js';
import { writeFileAtomic } from './durable-fs.js';
import { genName } from './generations.js';
import { Job, RegisterRefused } from './job.js';
import { loadOrCreateSecret } from './job-secret.js';
import type { Member, SessionCall } from './member.js';
import type { RemoteAgent } from './remote-agent.js';
import type { SpawnAgentsRequest__Output } from '../gen/cairn/v1/SpawnAgentsRequest.js';
import type { SpawnAgentsReply } from '../gen/cairn/v1/SpawnAgentsReply.js';
import { resolveOptions, type CoordinatorOptions, type ResolvedOptions, type RunningCoordinator } from './options.js';
import { warmManifestCodec } from './manifest.js';

export type { CoordinatorOptions, RunningCoordinator } from './options.js';

/** Quit kills the job, then waits this long at most for the members to leave. */
const QUIT_GRACE_MS = 2000;
/** Shutdown waits this long for calls to finish before cutting connections. */
const SHUTDOWN_GRACE_MS = 2000;

const serverOptions: grpc.ServerOptions = {
  // Notice a dead agent's host within seconds, not at the next TCP timeout.
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
};

class Coordinator implements SessionHost, ControlHost {
  port = 0;
  readonly rendezvous = new Rendezvous();
  readonly job: Job;
  readonly checkpointer: Checkpointer;
  readonly done: Promise<void>;
  private readonly server = new grpc.Server(serverOptions);
  private resolveDone!: () => void;
  private shutdownStarted?: Promise<void>;
  private memberLeftWaiters: Array<() => void> = [];
  /** Agents this coordinator started on other hosts (cairn launch --hosts, restart). */
  private readonly remotes: RemoteAgent[] = [];

  constructor(
    readonly opts: ResolvedOptions,
    readonly secret: string,
  ) {
    this.job = new Job(opts.ckptDir, opts.log);
    this.checkpointer = new Checkpointer(this.job, opts);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    const proto = cairnProto().cairn.v1;
    this.server.addService(proto.AgentSession.service, agentSessionHandlers(this));
    this.server.addService(proto.Control.service, controlHandlers(this));
  }

  log(line: string): void {
    this.opts.log(line);
  }

  listen(): Promise<number> {
    const { host, port } = this.opts;
    const address = `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => {
        if (err) {
          reject(new UserError(`cannot listen on ${address}: ${errorMessage(err)}`, 'choose another --coord-port, or 0 for any free port'));
          return;
        }
        this.port = bound;
        this.log(`listening on ${host}:${bound}, checkpoints in ${this.opts.ckptDir}`);
        resolve(bound);
      });
    });
  }

  // ---- AgentSession ----

  register(reg: Register__Output, call: SessionCall): Member {
    if (this.shutdownStarted) throw new RegisterRefused(grpc.status.UNAVAILABLE, 'the coordinator is shutting down');
    const member = this.job.register(reg, call);
    this.log(`member ${member.id} joined: ${member.label}, ${member.processes.length} process(es)`);
    // Its processes are not frozen: a checkpoint without them would not be consistent.
    if (this.checkpointer.inProgress) this.checkpointer.abort(`${member.label} joined the job during the checkpoint`);
    member.send({ registered: { jobId: this.job.jobId!, memberId: member.id, ckptDir: this.job.jobDir! } });
    if (!this.checkpointer.intervalArmed && !this.checkpointer.inProgress) this.checkpointer.armInterval();
    return member;
  }

  phaseResult(member: Member, result: PhaseResult__Output): void {
    this.checkpointer.deliver(member, result);
  }

  heartbeat(member: Member, processes: ProcessInfo__Output[]): void {
    member.processes = processes;
  }

  jobExited(member: Member, exited: JobExited__Output): void {
    if (member.state === 'exited') return;
    member.state = 'exited';
    member.exitStatus = exited.status;
    this.log(`member ${member.id} (${member.label}): job exited with status ${exited.status}`);
    this.checkpointer.memberLost(member, `job exited with status ${exited.status}`);
    this.memberLeft();
  }

  streamClosed(member: Member, why: string): void {
    const wasRunning = member.running;
    if (!member.markStreamClosed()) return;
    if (wasRunning) {
      this.log(`member ${member.id} (${member.label}): ${why} while its job was running`);
      this.checkpointer.memberLost(member, why);
    }
    this.memberLeft();
  }

  private memberLeft(): void {
    const waiters = this.memberLeftWaiters;
    this.memberLeftWaiters = [];
    for (const w of waiters) w();
    if (this.opts.exitOnLast && this.job.everyoneLeft) void this.shutdown('every member has left');
  }

  // ---- Control ----

  requestCheckpoint(compress?: string): ActiveCheckpoint | string {
    return this.checkpointer.request(compress ?? '');
  }

  genDirOf(generation: number): string {
    return path.join(this.job.jobDir ?? this.opts.ckptDir, genName(generation));
  }

  status(): StatusReply {
    const { job } = this;
    return {
      jobId: job.jobId ?? '',
      ckptDir: job.jobDir ?? this.opts.ckptDir,
      members: job.running().length,
      running: job.isRunning,
      lastGeneration: job.latestGeneration(),
      lastError: this.checkpointer.lastError,
      intervalS: Math.round(this.opts.intervalS),
      checkpointInProgress: this.checkpointer.inProgress,
      member: job.all().map((m) => ({
        memberId: m.id,
        host: m.host,
        agentPid: m.agentPid,
        processes: m.processes,
        state: m.describeState(),
      })),
      coordinatorPid: process.pid,
      port: this.port,
      remote: this.remotes.map((r) => ({ host: r.host, pid: r.remotePid, state: r.state, detail: r.exitInfo })),
      ...this.progress(),
    };
  }

  /** Sum of the members' progress in the checkpoint in progress. */
  private progress(): { progressDone: number; progressTotal: number } {
    const id = this.checkpointer.activeId;
    let progressDone = 0;
    let progressTotal = 0;
    for (const m of this.job.all()) {
      if (!id || m.progress?.checkpointId !== id) continue;
      progressDone += m.progress.done;
      progressTotal += m.progress.total;
    }
    return { progressDone, progressTotal };
  }

  kill(reason: string): number {
    this.checkpointer.abort(reason);
    let sent = 0;
    for (const m of this.job.connected()) if (m.send({ stop: { kill: true, reason } })) sent++;
    this.log(`kill: sent Stop to ${sent} member(s)`);
    return sent;
  }

  quit(): void {
    this.kill('cairn command --quit');
    void this.waitForMembersToLeave(QUIT_GRACE_MS).then(() => this.shutdown('quit'));
  }

  private waitForMembersToLeave(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      const check = () => {
        if (this.job.connected().length === 0) {
          clearTimeout(timer);
          resolve();
        } else {
          this.memberLeftWaiters.push(check);
        }
      };
      check();
    });
  }

  async spawnAgents(req: SpawnAgentsRequest__Output): Promise<SpawnAgentsReply> {
    if (this.shutdownStarted) return { ok: false, error: 'the coordinator is shutting down' };
    const ckptDir = req.ckptDir || this.opts.ckptDir;
    // ssh2 is loaded only by a coordinator that starts agents over ssh (~30 ms at start otherwise).
    const { RemoteAgent } = await import('./remote-agent.js');
    const results = await Promise.all(req.agents.map(async (spec) => {
      const r = new RemoteAgent(spec.host, (line) => this.log(line));
      this.remotes.push(r);
      r.onLost((why) => this.log(`agent on ${spec.host}: ${why}`));
      try {
        // The remote host reaches us at the address its ssh connection came from.
        const addr = await r.connect();
        const [sub, ...rest] = spec.args;
        if (!sub) throw new Error('no cairn command to run');
        const argv = [process.execPath, this.opts.cairnBin, sub, '--coord-host', addr, '--coord-port', String(this.port), '--ckptdir', ckptDir, '--secret-stdin', ...rest];
        const logFile = path.join(ckptDir, `cairn-agent-${spec.host.replace(/[^A-Za-z0-9._-]/g, '_')}.log`);
        await r.start(req.cwd || '/', argv, this.secret, logFile);
        this.log(`started an agent on ${spec.host} (pid ${r.remotePid} there, log ${logFile})`);
        return '';
      } catch (e) {
        void r.stop();
        return errorMessage(e);
      }
    }));
    const errors = results.filter(Boolean);
    return { ok: errors.length === 0, error: errors.join('\n'), started: results.length - errors.length };
  }

  // ---- shutdown ----

  get memberCount(): number {
    return this.job.members.size;
  }

  shutdown(reason: string): Promise<void> {
    this.shutdownStarted ??= (async () => {
      this.log(`shutting down: ${reason}`);
      try {
        await this.checkpointer.stop(`the coordinator is shutting down (${reason})`);
      } catch (err) {
        this.log(`while stopping the checkpoint: ${errorMessage(err)}`);
      }
      for (const m of this.job.all()) m.endStream();
      // An ssh connection's end does not end its remote command: stop each agent.
      await Promise.all(this.remotes.map((r) => r.stop().catch(() => undefined)));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.server.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        this.server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.resolveDone();
    })();
    return this.shutdownStarted;
  }
}

export async function startCoordinator(options: CoordinatorOptions): Promise<RunningCoordinator> {
  const opts = resolveOptions(options, process.cwd(), (cwd, p) => path.resolve(cwd, p));
  const secret = loadOrCreateSecret(opts.ckptDir);
  const coordinator = new Coordinator(opts, secret);
  const port = await coordinator.listen();
  if (opts.portFile) {
    try {
      await writeFileAtomic(opts.portFile, `${port}\n`, 0o644);
    } catch (err) {
      await coordinator.shutdown('the port file could not be written');
      throw new UserError(`cannot write port file ${opts.portFile}: ${errorMessage(err)}`);
    }
  }
  // After the caller has said it listens (its starter waits for that), before any checkpoint.
  setImmediate(warmManifestCodec);
  return {
    port,
    secret,
    done: coordinator.done,
    memberCount: () => coordinator.memberCount,
    close: () => coordinator.shutdown('closed'),
  };
}
