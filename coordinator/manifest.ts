// The manifest of a generation: cairn.v1.Manifest as protobuf (what `cairn restart`
// reads) and the same content as JSON for people.
import path from 'node:path';
import { CAIRN_VERSION } from '../common/paths.js';
import { generateCodecs } from '../common/protobuf-codecs.js';
import type { Manifest } from '../gen/cairn/v1/Manifest.js';
import { MANIFEST_FORMAT_VERSION, manifestProtoType } from '../common/manifest-read.js';
import { writeFileDurable } from './durable-fs.js';

export const MANIFEST_PB = 'manifest.pb';
export const MANIFEST_JSON = 'manifest.json';

/** The schema loaded and its codec generated before the first checkpoint needs it. */
export function warmManifestCodec(): void {
  const type = manifestProtoType();
  generateCodecs(type.root);
  type.toObject(type.decode(type.encode(type.fromObject(buildManifest({} as Omit<Manifest, 'formatVersion' | 'cairnVersion'>))).finish()));
}

export function buildManifest(fields: Omit<Manifest, 'formatVersion' | 'cairnVersion'>): Manifest {
  return { formatVersion: MANIFEST_FORMAT_VERSION, cairnVersion: CAIRN_VERSION, ...fields };
}

/** Write manifest.pb and manifest.json (0600, fsynced) into `dir`. */
export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  const type = manifestProtoType();
  // fromObject turns decimal-string int64s into Longs; verify then checks the result.
  const message = type.fromObject(manifest);
  const problem = type.verify(message);
  if (problem) throw new Error(`manifest is invalid: ${problem}`);
  const readable = type.toObject(message, { longs: String, enums: String, defaults: true });
  // Both at once: their fsyncs share the file system's journal commits.
  await Promise.all([
    writeFileDurable(path.join(dir, MANIFEST_PB), type.encode(message).finish(), 0o600),
    writeFileDurable(path.join(dir, MANIFEST_JSON), JSON.stringify(readable, null, 2) + '\n', 0o600),
  ]);
}
