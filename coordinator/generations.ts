// The layout of a job directory: committed generations gen-NNNNNN, partial ones
// .gen-NNNNNN.partial (a checkpoint in progress, or a crash during one), and `latest`, a
// symlink to the current generation.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { readManifest } from '../common/manifest-read.js';

export const LATEST = 'latest';
const GEN_RE = /^gen-(\d+)$/;
const PARTIAL_RE = /^\.gen-(\d+)\.partial$/;

export { genName, partialName } from '../common/generation-names.js';
import { genName } from '../common/generation-names.js';

function entries(jobDir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(jobDir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Committed generation numbers in `jobDir`, newest first. */
export function listGenerations(jobDir: string): number[] {
  const out: number[] = [];
  for (const e of entries(jobDir)) {
    const m = GEN_RE.exec(e.name);
    if (m && e.isDirectory()) out.push(Number(m[1]));
  }
  return out.sort((a, b) => b - a);
}

/** The generation `latest` points to, or 0. */
export function latestGeneration(jobDir: string): number {
  try {
    const m = GEN_RE.exec(path.basename(fs.readlinkSync(path.join(jobDir, LATEST))));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Remove partial generations left by a crash during a checkpoint; returns their names. */
export function removeStalePartials(jobDir: string): string[] {
  const removed: string[] = [];
  for (const e of entries(jobDir)) {
    if (PARTIAL_RE.test(e.name)) {
      fs.rmSync(path.join(jobDir, e.name), { recursive: true, force: true });
      removed.push(e.name);
    }
  }
  return removed;
}

/** Delete committed generations beyond the newest `keep`, never the one `latest` names nor
 * one whose images a kept generation's incremental images still read. */
export async function pruneGenerations(jobDir: string, keep: number): Promise<string[]> {
  const latest = latestGeneration(jobDir);
  const all = listGenerations(jobDir);
  const kept = new Set(all.slice(0, keep));
  if (latest) kept.add(latest);
  const needed = new Set<string>();
  for (const n of kept) {
    // No manifest: not a generation one can restart, it reads nothing. An unreadable one:
    // what it reads is unknown, so nothing is removed (readManifest throws).
    if (!fs.existsSync(path.join(jobDir, genName(n), 'manifest.pb'))) continue;
    const m = readManifest(path.join(jobDir, genName(n)));
    for (const h of m.hosts) for (const img of h.images) for (const r of img.reads ?? []) needed.add(r);
  }
  const removed: string[] = [];
  for (const n of all) {
    if (kept.has(n) || needed.has(genName(n))) continue;
    await fsp.rm(path.join(jobDir, genName(n)), { recursive: true, force: true });
    removed.push(genName(n));
  }
  return removed;
}
