// What `cairn restart [DIR | IMAGE...]` means: a checkpoint directory (its one job's latest
// generation), a job directory (its latest), a generation directory, or image files.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../common/errors.js';
import { readManifest } from '../common/manifest-read.js';
import { IMAGE_SUFFIX } from './image-file.js';
import type { Manifest__Output } from '../gen/cairn/v1/Manifest.js';

export interface RestartTarget {
  /** The job's directory (<ckptdir>/<job>), where new generations go. */
  jobDir: string;
  genDir: string;
  manifest?: Manifest__Output;
  images: string[];
}

const isDir = (p: string) => {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};

function latestOf(jobDir: string): string {
  let target: string;
  try {
    target = fs.readlinkSync(path.join(jobDir, 'latest'));
  } catch {
    throw new UserError(`${jobDir} has no committed checkpoint (no 'latest')`, 'checkpoint the job first, or give a gen-N directory');
  }
  const gen = path.resolve(jobDir, target);
  if (!isDir(gen)) throw new UserError(`${jobDir}/latest points to ${target}, which is missing`, 'give an existing gen-N directory');
  return gen;
}

function fromGeneration(genDir: string): RestartTarget {
  const manifest = readManifest(genDir);
  const images = manifest.hosts.flatMap((h) => h.images.map((i) => path.join(genDir, i.file)));
  if (images.length === 0) throw new UserError(`generation ${genDir} lists no images`, 'restart from an older generation');
  return { jobDir: path.dirname(genDir), genDir, manifest, images };
}

export function resolveRestartTarget(args: string[], ckptDir: string): RestartTarget {
  if (args.length > 0 && args.every((a) => a.endsWith(IMAGE_SUFFIX))) {
    const images = args.map((a) => path.resolve(a));
    const genDir = path.dirname(images[0]!);
    let manifest: Manifest__Output | undefined;
    if (fs.existsSync(path.join(genDir, 'manifest.pb'))) manifest = readManifest(genDir);
    return { jobDir: path.dirname(genDir), genDir, manifest, images };
  }
  if (args.length > 1) throw new UserError(`restart takes one directory or image files, got: ${args.join(' ')}`, 'cairn restart DIR  or  cairn restart IMAGE.cimg...');
  const dir = path.resolve(args[0] ?? ckptDir);
  if (!fs.existsSync(dir)) throw new UserError(`checkpoint directory ${dir} does not exist`, 'give the --ckptdir the job was launched with');
  if (!isDir(dir)) throw new UserError(`${dir} is neither a directory nor a ${IMAGE_SUFFIX} image`, 'cairn restart DIR  or  cairn restart IMAGE.cimg...');
  if (fs.existsSync(path.join(dir, 'manifest.pb'))) return fromGeneration(dir);
  if (fs.existsSync(path.join(dir, 'latest')) || fs.readdirSync(dir).some((n) => /^gen-\d+$/.test(n))) return fromGeneration(latestOf(dir));
  const jobs = fs.readdirSync(dir).filter((n) => isDir(path.join(dir, n)) && fs.existsSync(path.join(dir, n, 'latest')));
  if (jobs.length === 0) throw new UserError(`no checkpoint in ${dir}`, 'give the --ckptdir the job was launched with');
  if (jobs.length > 1) throw new UserError(`${dir} holds checkpoints of ${jobs.length} jobs: ${jobs.join(', ')}`, `say which: cairn restart ${path.join(dir, jobs[0]!)}`);
  return fromGeneration(latestOf(path.join(dir, jobs[0]!)));
}
