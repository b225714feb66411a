// Checkpoint and restart of one job, as a user runs them: `cairn command --bcheckpoint`, kill,
// `cairn restart`. What the coordinator reports (duration, pause, bytes) plus wall clocks.
import fs from 'node:fs';
import path from 'node:path';
import { cairnBackground, readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { diskUsage } from './util.js';

export interface CheckpointRow {
  label: string;
  /** Logical size of the process's memory under test, bytes. */
  bytes: number;
  compress: string;
  /** The last checkpoint taken (JobSpec.checkpoints); the first one below. */
  checkpointS: number;
  pauseS: number;
  firstCheckpointS: number;
  firstPauseS: number;
  /** Image files: apparent size and what they take on disk (zero pages are holes). */
  imageBytes: number;
  onDiskBytes: number;
  /** `cairn restart` started -> it reports the job restored (reads, checks, maps back). */
  restartS: number;
  /** Of restartS: the engine's restore (decompression included). */
  restoreS: number;
  /** JobSpec.restarts > 1: each restart beside a read-in of the image just before it (restartS
   * and restoreS above are then the medians). */
  pairs?: Array<{ restartS: number; restoreS: number; readInS: number }>;
}

export interface JobSpec {
  label: string;
  argv: string[];
  bytes: number;
  /** True once the program has built its memory. */
  ready: (work: string) => boolean;
  compress?: string;
  /** Called with the empty checkpoint directory before the job starts (dd goes there). */
  before?: (dir: string) => void;
  readyTimeoutMs?: number;
  /** Checkpoints taken one after the other before the restart (default 1): the first of a
   * job arms its written-page tracker; a job checkpointed every N minutes pays that once. */
  checkpoints?: number;
  /** Restarts of the same generation, one after the other (default 1), each just after
   * `readIn` of the image files: the limit, measured beside each restart, as the disk and
   * the host's memory are at that moment (on the test VM a read-in of the same file varies
   * 2x from one run to the next). */
  restarts?: number;
  readIn?: (files: string[]) => number;
}

export async function checkpointAndRestart(spec: JobSpec): Promise<CheckpointRow> {
  const job = new TestJob(`bench-${spec.label.replace(/[^a-z0-9]/gi, '')}`);
  try {
    spec.before?.(job.ckpt);
    job.launch(spec.argv);
    const s = await job.running();
    await waitFor(`${spec.label}: memory built`, () => spec.ready(job.work), spec.readyTimeoutMs ?? 300_000, 20);
    type Reply = { durationUs: string; pauseUs: string; bytes: string };
    const replies: Reply[] = [];
    for (let i = 0; i < (spec.checkpoints ?? 1); i++) {
      const cp = await job.command('--bcheckpoint', '--json', ...(spec.compress ? ['--compress', spec.compress] : []));
      if (cp.code !== 0) throw new Error(`${spec.label}: checkpoint failed: ${cp.stderr}`);
      replies.push(JSON.parse(cp.stdout) as Reply);
    }
    const reply = replies[replies.length - 1]!;
    const genDir = fs.realpathSync(path.join(s.ckptDir, 'latest'));
    const disk = diskUsage(genDir);
    const images = fs.readdirSync(genDir).filter((f) => f.endsWith('.cimg')).map((f) => path.join(genDir, f));
    await job.killAll(s);
    await job.launcher!.exited;
    const pairs: Array<{ restartS: number; restoreS: number; readInS: number }> = [];
    for (let i = 0; i < (spec.restarts ?? 1); i++) {
      fs.rmSync(job.portFile, { force: true });
      const readInS = spec.readIn ? spec.readIn(images) : 0;
      const t0 = process.hrtime.bigint();
      const restarted = cairnBackground(['restart', '--coord-port', '0', '--port-file', job.portFile, s.ckptDir], { cwd: job.work });
      job.launcher = restarted;
      let wall = 0;
      await waitFor(`${spec.label}: restart`, () => {
        if (/restored .* in [\d.]+ ms/.test(restarted.stderr)) wall = Number(process.hrtime.bigint() - t0) / 1e9;
        return wall > 0 || restarted.child.exitCode !== null;
      }, 600_000, 5);
      const m = /restored .* in ([\d.]+) ms/.exec(restarted.stderr);
      if (!m) throw new Error(`${spec.label}: restart failed: ${restarted.stderr.trim()}`);
      await job.running();
      await job.command('--kill');
      await restarted.exited;
      pairs.push({ restartS: wall, restoreS: Number(m[1]) / 1000, readInS });
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    return {
      label: spec.label,
      bytes: spec.bytes,
      compress: spec.compress ?? 'none',
      checkpointS: Number(reply.durationUs) / 1e6,
      pauseS: Number(reply.pauseUs) / 1e6,
      firstCheckpointS: Number(replies[0]!.durationUs) / 1e6,
      firstPauseS: Number(replies[0]!.pauseUs) / 1e6,
      imageBytes: Number(reply.bytes),
      onDiskBytes: disk.onDisk,
      restartS: median(pairs.map((p) => p.restartS)),
      restoreS: median(pairs.map((p) => p.restoreS)),
      ...(pairs.length > 1 ? { pairs } : {}),
    };
  } finally {
    await job.cleanup();
  }
}

/** bigmem holding `mib` MiB of `kind` memory, idle (no checks that would take CPU). */
export function bigmemSpec(prog: string, mib: number, kind: string, extra: Partial<JobSpec> = {}): JobSpec {
  // "random huge": random memory the program madvise(MADV_HUGEPAGE)s
  const [fill, huge] = kind.split(' ');
  return {
    label: `${mib} MiB ${kind}`,
    argv: [prog, 'out.txt', String(mib), fill!, '1', '100000000', ...(huge ? ['huge'] : [])],
    bytes: mib * 2 ** 20,
    ready: (work) => readIf(path.join(work, 'out.txt')).includes('ready'),
    ...extra,
  };
}
