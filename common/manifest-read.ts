// Reading a generation's manifest (protos/manifest.proto, written by the coordinator).
import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { UserError } from './errors.js';
import { projectRoot } from './paths.js';
import type { Manifest__Output } from '../gen/cairn/v1/Manifest.js';

export const MANIFEST_FORMAT_VERSION = 1;

let manifestType: protobuf.Type | undefined;
export function manifestProtoType(): protobuf.Type {
  if (!manifestType) manifestType = protobuf.loadSync(path.join(projectRoot(), 'protos', 'manifest.proto')).lookupType('cairn.v1.Manifest');
  return manifestType;
}

export function readManifest(genDir: string): Manifest__Output {
  const file = path.join(genDir, 'manifest.pb');
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    throw new UserError(`${genDir} is not a checkpoint generation (no manifest.pb)`, 'give the checkpoint directory, a job directory or a gen-N directory');
  }
  let m: Manifest__Output;
  try {
    const t = manifestProtoType();
    m = t.toObject(t.decode(buf), { longs: String, enums: String, defaults: true, arrays: true }) as Manifest__Output;
  } catch {
    throw new UserError(`manifest ${file} is corrupted`, 'restart from an older generation');
  }
  if (m.formatVersion !== MANIFEST_FORMAT_VERSION) {
    throw new UserError(`manifest ${file} has format version ${m.formatVersion}, this cairn reads ${MANIFEST_FORMAT_VERSION}`, `use cairn ${m.cairnVersion}`);
  }
  return m;
}
