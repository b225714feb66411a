// Every call, on both services, must carry the job secret: other users of a shared login
// node must not checkpoint, kill or even read the job.
import * as grpc from '@grpc/grpc-js';
import { SECRET_METADATA_KEY } from '../common/proto.js';
import { secretMatches } from '../common/secret.js';

export const UNAUTHENTICATED_MESSAGE = 'wrong or missing job secret';

export function callIsAuthorized(metadata: grpc.Metadata, secret: string): boolean {
  const values = metadata.get(SECRET_METADATA_KEY);
  const given = values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
  return secretMatches(secret, given);
}

export function unauthenticated(): Partial<grpc.StatusObject> {
  return { code: grpc.status.UNAUTHENTICATED, details: UNAUTHENTICATED_MESSAGE };
}
