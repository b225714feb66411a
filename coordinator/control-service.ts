// Control: what `cairn command` asks of the coordinator. Errors are one line; a failed
// checkpoint is an ok=false reply (the CLI shows it), not a gRPC error.
import * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../common/errors.js';
import type { CheckpointReply } from '../gen/cairn/v1/CheckpointReply.js';
import type { ControlHandlers } from '../gen/cairn/v1/Control.js';
import type { SpawnAgentsReply } from '../gen/cairn/v1/SpawnAgentsReply.js';
import type { SpawnAgentsRequest__Output } from '../gen/cairn/v1/SpawnAgentsRequest.js';
import type { StatusReply } from '../gen/cairn/v1/StatusReply.js';
import { callIsAuthorized, unauthenticated } from './auth.js';
import type { CheckpointOutcome } from './checkpoint-run.js';
import type { ActiveCheckpoint } from './checkpointer.js';
import type { Rendezvous } from './rendezvous.js';

export interface ControlHost {
  secret: string;
  requestCheckpoint(compress?: string): ActiveCheckpoint | string;
  genDirOf(generation: number): string;
  status(): StatusReply;
  kill(reason: string): number;
  quit(): void;
  spawnAgents(req: SpawnAgentsRequest__Output): Promise<SpawnAgentsReply>;
  rendezvous: Rendezvous;
}

export function checkpointReply(o: CheckpointOutcome): CheckpointReply {
  return {
    ok: o.ok,
    error: o.error,
    generation: o.generation,
    genDir: o.genDir,
    bytes: o.bytes.toString(),
    durationUs: o.durationUs.toString(),
    pauseUs: o.pauseUs.toString(),
    writes: o.writes.map((w) => ({ host: w.host, bytes: w.bytes.toString(), writeUs: w.writeUs.toString(), precopied: w.precopied.toString() })),
    notes: [...o.images.values()].flatMap((imgs) => imgs.flatMap((i) => i.notes ?? [])),
  };
}

type Unary<Req, Res> = grpc.handleUnaryCall<Req, Res>;

/** Check the secret, run `fn`, and turn anything thrown into a one-line INTERNAL error. */
function guarded<Req, Res>(secret: string, fn: (req: Req) => Promise<Res> | Res): Unary<Req, Res> {
  return (call, callback) => {
    if (!callIsAuthorized(call.metadata, secret)) {
      callback(unauthenticated());
      return;
    }
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback({ code: grpc.status.INTERNAL, details: errorMessage(err) }),
      );
  };
}

export function controlHandlers(host: ControlHost): ControlHandlers {
  const { secret } = host;
  return {
    Checkpoint: guarded(secret, async (req) => {
      const active = host.requestCheckpoint(req.compress);
      if (typeof active === 'string') return { ok: false, error: active };
      if (!req.wait) {
        const generation = active.run.generation;
        return { ok: true, generation, genDir: host.genDirOf(generation) };
      }
      return checkpointReply(await active.outcome);
    }),
    Status: guarded(secret, () => host.status()),
    List: guarded(secret, () => ({ member: host.status().member })),
    Kill: guarded(secret, () => ({ members: host.kill('killed by cairn command --kill') })),
    SpawnAgents: guarded(secret, (req) => host.spawnAgents(req)),
    Rendezvous: guarded(secret, async (req) => {
      if (req.offer.length) {
        host.rendezvous.offer(req.key, req.offer);
        return { addrs: req.offer };
      }
      return { addrs: await host.rendezvous.want(req.key, Math.min(req.waitMs || 60_000, 600_000)) };
    }),
    Quit: guarded(secret, () => {
      // Reply first: the server goes away right after.
      setImmediate(() => host.quit());
      return {};
    }),
  };
}
