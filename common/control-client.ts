// Client of the coordinator's Control service (cli -> coordinator).
import * as grpc from '@grpc/grpc-js';
import { UserError } from './errors.js';
import { cairnProto, channelOptions, secretMetadata } from './proto.js';
import type { ControlClient } from '../gen/cairn/v1/Control.js';

export interface CoordTarget {
  host: string;
  port: number;
  secret: string;
}

export function controlClient(t: CoordTarget): ControlClient {
  const Control = cairnProto().cairn.v1.Control;
  return new Control(`${t.host}:${t.port}`, grpc.credentials.createInsecure(), channelOptions);
}

/** One unary call, with a deadline and errors turned into one-line UserErrors. */
export function call<Req, Rep>(
  t: CoordTarget,
  method: (client: ControlClient) => (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, rep?: Rep) => void) => unknown,
  req: Req,
  timeoutMs: number,
): Promise<Rep> {
  const client = controlClient(t);
  return new Promise<Rep>((resolve, reject) => {
    const deadline = timeoutMs > 0 ? new Date(Date.now() + timeoutMs) : Infinity;
    method(client).call(client, req, secretMetadata(t.secret), { deadline }, (err, rep) => {
      client.close();
      if (err) reject(describeGrpcError(err, t));
      else resolve(rep as Rep);
    });
  });
}

export function describeGrpcError(err: grpc.ServiceError, t: { host: string; port: number }): UserError {
  const where = `${t.host}:${t.port}`;
  switch (err.code) {
    case grpc.status.UNAVAILABLE:
      return new UserError(`no coordinator answers at ${where}`, 'start one with cairn coordinator or cairn launch, or check --coord-host/--coord-port');
    case grpc.status.UNAUTHENTICATED:
      return new UserError(`the coordinator at ${where} refused the job secret`, 'use the secret of that job: run from its checkpoint directory, pass --ckptdir, or set CAIRN_SECRET');
    case grpc.status.DEADLINE_EXCEEDED:
      return new UserError(`the coordinator at ${where} did not answer in time`, 'see cairn command --status');
    default:
      return new UserError(`coordinator ${where}: ${err.details || err.message}`);
  }
}

/** True when something answers at host:port with this secret. */
export async function coordinatorAlive(t: CoordTarget, timeoutMs = 1500): Promise<boolean> {
  try {
    await call(t, (c) => c.Status, {}, timeoutMs);
    return true;
  } catch {
    return false;
  }
}
