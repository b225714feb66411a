// Committing a generation, in the one order that is crash-safe: everything inside the
// partial directory is fsynced before it is renamed to gen-N, and `latest` moves only
// after the rename is durable. A crash at any point leaves `latest` on a complete
// generation (a stale .partial is removed when the job directory is next opened).
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Manifest } from '../gen/cairn/v1/Manifest.js';
import { fsyncDir, replaceSymlink } from './durable-fs.js';
import { genName, LATEST } from './generations.js';
import { writeManifest } from './manifest.js';

export interface CommitRequest {
  jobDir: string;
  partialDir: string;
  generation: number;
  manifest: Manifest;
}

/** Returns the committed generation directory. On failure nothing of this generation
 * is left behind and `latest` is unchanged. */
export async function commitGeneration(req: CommitRequest): Promise<string> {
  const genDir = path.join(req.jobDir, genName(req.generation));
  let renamed = false;
  let switched = false;
  try {
    await writeManifest(req.partialDir, req.manifest);
    await fsyncDir(req.partialDir);
    await fsp.rename(req.partialDir, genDir);
    renamed = true;
    await fsyncDir(req.jobDir);
    await replaceSymlink(path.join(req.jobDir, LATEST), genName(req.generation));
    switched = true;
    await fsyncDir(req.jobDir);
    return genDir;
  } catch (err) {
    // Unless `latest` already names it, remove this generation wherever it got to.
    if (!switched) await fsp.rm(renamed ? genDir : req.partialDir, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}
