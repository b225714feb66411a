// Loads the gRPC services and message types of protos/. Generated TypeScript types
// (gen/, made by proto-loader-gen-types at build time) describe the same schema.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import path from 'node:path';
import { projectRoot } from './paths.js';
import type { ProtoGrpcType } from '../gen/cairn.js';

export const SECRET_METADATA_KEY = 'x-cairn-secret';

const loaderOptions: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

let cached: ProtoGrpcType | undefined;

export function cairnProto(): ProtoGrpcType {
  if (!cached) {
    const def = protoLoader.loadSync(path.join(projectRoot(), 'protos', 'cairn.proto'), loaderOptions);
    cached = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  }
  return cached;
}

export function secretMetadata(secret: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(SECRET_METADATA_KEY, secret);
  return md;
}

/** Small, unbuffered round trips: no Nagle, fast failure on a dead peer. */
export const channelOptions: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.enable_retries': 0,
};
