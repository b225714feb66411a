// Shared by the tests of what cairn refuses: the one-line error shape, and a real
// checkpoint image with damaged copies of it.
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readIf, waitFor, type RunResult } from './cairn.js';
import { readImage } from '../../agent/image-file.js';
import type { TestJob } from './job.js';
import { program } from './programs.js';
import { chownToTestUser } from './user.js';

/** Failed, one line `cairn: ...` matching pattern (plus at most a hint), no stack trace. */
export function oneLineError(t: ExecutionContext, r: RunResult, pattern: RegExp, opts: { hint?: boolean } = {}): void {
  t.not(r.code, 0, 'fails');
  const lines = r.stderr.trim().split('\n');
  t.regex(lines[0] ?? '', /^cairn: /, r.stderr);
  t.regex(lines[0] ?? '', pattern);
  if (opts.hint) t.regex(lines[1] ?? '', /^hint: /, r.stderr);
  t.false(/^\s+at /m.test(r.stderr), 'no stack trace');
  t.true(lines.length <= 2, `one line and a hint: ${r.stderr}`);
}

/** An XOR of one byte at off, for fs-level damage of a copy. */
export const flipByte = (off: number) => (f: string) => {
  const fd = fs.openSync(f, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, off);
  b[0] ^= 0xff;
  fs.writeSync(fd, b, 0, 1, off);
  fs.closeSync(fd);
};

/** The top page of the stack's data in the image (environment strings: never a zero page)
 * made a hole, as if the file system had lost it: it reads as zeros, like the zero pages
 * the image leaves out. */
export const punchStackTop = (f: string) => {
  const { image } = readImage(f);
  const stack = image.vmas.find((v) => [3, 'VMA_STACK'].includes(v.kind as unknown as number) && v.runs.length > 0);
  if (!stack) throw new Error(`${f}: no stack pages in the image`);
  const run = stack.runs[stack.runs.length - 1]!;
  const page = Number(run.offset) + Number(run.len) - 4096;
  execFileSync('fallocate', ['--punch-hole', '--keep-size', '--offset', String(page), '--length', '4096', f]);
};

export interface CheckpointedImage {
  /** The committed generation directory and its one image. */
  gen: string;
  image: string;
  size: number;
  /** A directory for damaged copies (no manifest in it). */
  bad: string;
  /** A copy of the image in `bad`, changed by `change`, owned by the test user. */
  copy(name: string, change: (f: string) => void): string;
}

/** Launches counter, waits for minOutput bytes of output, checkpoints it once and kills it. */
export async function checkpointedCounter(t: ExecutionContext, job: TestJob, minOutput: number): Promise<CheckpointedImage> {
  job.launch([program('counter'), 'out.txt', '400', '50']);
  const s = await job.running();
  await waitFor('some output', () => readIf(path.join(job.work, 'out.txt')).length > minOutput, 10_000);
  t.is((await job.command('--bcheckpoint')).code, 0);
  await job.killAll(s);
  await job.launcher!.exited;
  const gen = path.join(s.ckptDir, 'gen-000001');
  const image = path.join(gen, fs.readdirSync(gen).find((f) => f.endsWith('.cimg'))!);
  const bad = path.join(job.root, 'bad');
  fs.mkdirSync(bad);
  chownToTestUser(bad);
  return {
    gen,
    image,
    size: fs.statSync(image).size,
    bad,
    copy(name, change) {
      const f = path.join(bad, `${name}.cimg`);
      fs.copyFileSync(image, f);
      change(f);
      chownToTestUser(f);
      return f;
    },
  };
}
