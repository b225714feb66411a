// The agent's stream to the coordinator: register, then answer phase commands in order.
import * as grpc from '@grpc/grpc-js';
import os from 'node:os';
import { describeGrpcError } from '../common/control-client.js';
import { cairnProto, channelOptions, secretMetadata } from '../common/proto.js';
import { UserError } from '../common/errors.js';
import type { AgentMessage } from '../gen/cairn/v1/AgentMessage.js';
import type { CoordinatorMessage__Output } from '../gen/cairn/v1/CoordinatorMessage.js';
import type { Register } from '../gen/cairn/v1/Register.js';
import type { Registered__Output } from '../gen/cairn/v1/Registered.js';

export interface SessionHandlers {
  onMessage(msg: CoordinatorMessage__Output): void;
  /** The coordinator went away (crash, kill, network): the job keeps running. */
  onClosed(reason: string): void;
}

export class CoordinatorSession {
  private stream: grpc.ClientDuplexStream<AgentMessage, CoordinatorMessage__Output>;
  private client: grpc.Client;
  private closed = false;
  private heartbeat?: NodeJS.Timeout;

  private constructor(
    readonly target: { host: string; port: number; secret: string },
    private handlers: SessionHandlers,
  ) {
    const AgentSession = cairnProto().cairn.v1.AgentSession;
    const client = new AgentSession(`${target.host}:${target.port}`, grpc.credentials.createInsecure(), channelOptions);
    this.client = client;
    this.stream = client.Session(secretMetadata(target.secret));
  }

  static open(
    target: { host: string; port: number; secret: string },
    register: Register,
    handlers: SessionHandlers,
    timeoutMs = 10_000,
  ): Promise<{ session: CoordinatorSession; registered: Registered__Output }> {
    const s = new CoordinatorSession(target, handlers);
    return new Promise((resolve, reject) => {
      let registered = false;
      const timer = setTimeout(() => {
        if (!registered) {
          s.close();
          reject(new UserError(`coordinator ${target.host}:${target.port} did not accept the agent in time`, 'see its log, or start a new one with --new-coordinator'));
        }
      }, timeoutMs);
      s.stream.on('data', (msg: CoordinatorMessage__Output) => {
        if (!registered && msg.registered) {
          registered = true;
          clearTimeout(timer);
          resolve({ session: s, registered: msg.registered });
          return;
        }
        if (registered) handlers.onMessage(msg);
      });
      s.stream.on('error', (err: grpc.ServiceError) => {
        clearTimeout(timer);
        if (!registered) reject(describeGrpcError(err, target));
        else s.finish(`coordinator connection lost: ${err.details || err.message}`);
      });
      s.stream.on('end', () => s.finish('coordinator closed the connection'));
      s.send({ register: { host: os.hostname(), agentPid: process.pid, ...register } });
    });
  }

  send(msg: AgentMessage): void {
    if (!this.closed) this.stream.write(msg);
  }

  startHeartbeat(every: number, make: () => AgentMessage): void {
    this.heartbeat = setInterval(() => this.send(make()), every);
    this.heartbeat.unref();
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.handlers.onClosed(reason);
    this.client.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.stream.end();
    this.client.close();
  }

  /** Closes the stream once the coordinator has read it to the end (it closes its side
   * then), or after `ms`: what was sent last has arrived. */
  closeWhenDelivered(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    const delivered = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.stream.once('status', done);
      this.stream.once('error', done);
    });
    this.close();
    return delivered;
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
