// bin/cairn, the native front (native/helpers/front.c): `cairn command --checkpoint` and
// `--bcheckpoint` are answered in C, over the coordinator's own gRPC (HTTP/2, HPACK), and
// must say exactly what the Node CLI says; everything else goes to the Node CLI. Running the
// front with no node on PATH proves which of the two answered.
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { cairnBin, cairnFront } from '../../common/paths.js';
import { readIf, runAsUser, waitFor, type RunResult } from '../helpers/cairn.js';
import { oneLineError } from '../helpers/damage.js';
import { TestJob } from '../helpers/job.js';
import { program } from '../helpers/programs.js';

const NO_NODE = { PATH: '/nonexistent' };

function front(job: TestJob, args: string[], env: Record<string, string> = NO_NODE): Promise<RunResult> {
  return runAsUser(cairnFront(), ['command', '--port-file', job.portFile, '--ckptdir', job.ckpt, ...args], { cwd: job.work, env });
}

function nodeCli(job: TestJob, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runAsUser(process.execPath, [cairnBin(), 'command', '--port-file', job.portFile, '--ckptdir', job.ckpt, ...args], { cwd: job.work, env });
}

/** The JSON's shape: every key, in order, and the type of every value. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === 'object') return Object.entries(v).map(([k, x]) => [k, shape(x)]);
  return typeof v;
}

async function withJob(t: ExecutionContext, body: (job: TestJob) => Promise<void>, mib = 1, env?: Record<string, string>): Promise<void> {
  const job = new TestJob('front');
  try {
    job.launch([program('workload'), 'out.txt', 'idle', '1', String(mib)], { env });
    await job.running();
    await waitFor('the job to be ready', () => readIf(path.join(job.work, 'out.txt')).includes('ready'));
    await body(job);
    t.is((await job.command('--kill')).code, 0);
    await job.launcher!.exited;
  } finally {
    await job.cleanup();
  }
}

const WRITTEN = /^checkpoint generation (\d+) written to (\S+) in \d+\.\d{3} s \(\d+(\.\d)? (B|KiB|MiB), job paused \d+ ms\)\n$/;

test.serial('the front checkpoints by itself, in the words and JSON of the Node CLI', async (t) => {
  await withJob(t, async (job) => {
    const a = await front(job, ['--bcheckpoint']);
    t.is(a.code, 0, a.stderr);
    t.is(a.stderr, '');
    const m = WRITTEN.exec(a.stdout);
    t.truthy(m, a.stdout);
    t.is(m![1], '1');
    t.true(fs.statSync(m![2]!).isDirectory(), 'the generation it names exists');

    const b = await nodeCli(job, ['--bcheckpoint']);
    t.is(b.code, 0, b.stderr);
    t.is(WRITTEN.exec(b.stdout)?.[1], '2', b.stdout);

    const fj = await front(job, ['--bcheckpoint', '--json']);
    const nj = await nodeCli(job, ['--bcheckpoint', '--json']);
    t.is(fj.code, 0, fj.stderr);
    t.is(nj.code, 0, nj.stderr);
    const fr = JSON.parse(fj.stdout) as { generation: number; ok: boolean; writes: unknown[] };
    const nr = JSON.parse(nj.stdout) as { generation: number };
    t.deepEqual(shape(fr), shape(nr), 'same keys, order and types');
    t.is(fr.generation, 3);
    t.is(nr.generation, 4);
    t.true(fr.ok);
    t.is(fr.writes.length, 1, 'one member wrote');

    // Not waiting: the request is acknowledged with the generation it will make.
    const c = await front(job, ['-c']);
    t.is(c.code, 0, c.stderr);
    t.regex(c.stdout, /^checkpoint requested: generation \d+\n$/);
    const cj = await front(job, ['--checkpoint', '--json']);
    t.is(cj.code, 0, cj.stderr);
    t.deepEqual(Object.keys(JSON.parse(cj.stdout) as object), Object.keys(nr));
    for (let i = 0; i < 300; i++) {   // the requested checkpoints are written before the kill
      const s = (await nodeCli(job, ['--status', '--json'])).stdout;
      const st = JSON.parse(s) as { lastGeneration: number; checkpointInProgress: boolean };
      if (st.lastGeneration >= 5 && !st.checkpointInProgress) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.true((await job.status()).lastGeneration >= 5, 'the requested checkpoint was written');
  });
});

test.serial('errors after the request are the Node CLI\'s; before it, the Node CLI itself answers', async (t) => {
  await withJob(t, async (job) => {
    // Refused by the coordinator: the reply's trailers (HPACK) say why.
    const wrong = { CAIRN_SECRET: '00112233445566778899aabb' };
    const f = await front(job, ['--bcheckpoint'], { ...NO_NODE, ...wrong });
    const n = await nodeCli(job, ['--bcheckpoint'], wrong);
    oneLineError(t, f, /refused the job secret/, { hint: true });
    t.is(f.stderr, n.stderr);
    t.is(f.code, n.code);

    // What the front leaves to Node: a missing port file, other commands, unknown flags.
    const missing = await runAsUser(cairnFront(), ['command', '--port-file', path.join(job.work, 'nope.txt'), '--ckptdir', job.ckpt, '--bcheckpoint'], { cwd: job.work });
    const missingNode = await runAsUser(process.execPath, [cairnBin(), 'command', '--port-file', path.join(job.work, 'nope.txt'), '--ckptdir', job.ckpt, '--bcheckpoint'], { cwd: job.work });
    oneLineError(t, missing, /port file .*nope\.txt does not exist/, { hint: true });
    t.is(missing.stderr, missingNode.stderr);
    const both = await front(job, ['-c', '--bcheckpoint'], {});
    oneLineError(t, both, /choose one of --checkpoint, --bcheckpoint/, { hint: true });
    const status = await front(job, ['--status', '--json'], {});
    t.is(status.code, 0, status.stderr);
    t.is((JSON.parse(status.stdout) as { lastGeneration: number }).lastGeneration, 0);
    const noNode = await front(job, ['--status'], NO_NODE);
    oneLineError(t, noNode, /cannot run node/, { hint: true });
    t.is(noNode.code, 127);
  });
});

test.serial('a long checkpoint off a terminal shows progress lines, as the Node CLI does', async (t) => {
  // 200 MiB are copied before the freeze, which then waits 6 s: one line at 5 s.
  const LINE = /^cairn: checkpoint \d+% [\d.]+ (B|KiB|MiB) of [\d.]+ (B|KiB|MiB), \d+ MB\/s(, ETA \d+ s)?$/;
  await withJob(t, async (job) => {
    for (const run of [front, nodeCli]) {
      const r = await run(job, ['--bcheckpoint'], run === front ? NO_NODE : {});
      t.is(r.code, 0, r.stderr);
      const lines = r.stderr.trim().split('\n');
      t.true(lines.length >= 1 && lines.every((l) => LINE.test(l)), r.stderr);
      t.regex(r.stdout, WRITTEN);
    }
  }, 200, { CAIRN_TEST_PRECOPY_DELAY_MS: '6000' });
});

test.serial('--kill and --quit are answered by the front too, in the words and JSON of the Node CLI', async (t) => {
  // Each ends its job: one job per call, the front's answer beside the Node CLI's.
  const ended = async (run: typeof front, args: string[]): Promise<RunResult> => {
    const job = new TestJob('frontend');
    try {
      job.launch([program('workload'), 'out.txt', 'idle', '1', '1']);
      await job.running();
      const r = await run(job, args, run === front ? NO_NODE : {});
      t.is(r.code, 0, r.stderr);
      t.is(r.stderr, '');
      const end = await job.launcher!.exited;
      t.not(end.code, 0, 'the job was killed');
      return r;
    } finally {
      await job.cleanup();
    }
  };
  for (const args of [['--kill'], ['-k', '--json'], ['--quit'], ['-q', '--json']]) {
    const f = await ended(front, args);
    const n = await ended(nodeCli, args);
    t.is(f.stdout, n.stdout, args.join(' '));
  }
  t.is((await ended(front, ['--kill'])).stdout, 'kill sent to 1 member(s)\n');
});
