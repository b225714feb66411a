// Several kill/restart cycles in a row, each checkpoint taken with --bcheckpoint; then a
// multi-threaded program (8 threads, mutexes, condition variables, FP work).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { program } from '../helpers/programs.js';
import { uninterruptedOutput } from './reference.js';

const lines = (f: string) => readIf(f).split('\n').filter(Boolean).length;

async function checkpointKillRestartCycles(t: import('ava').ExecutionContext, argv: string[], cycles: number, everyLines: number) {
  const reference = uninterruptedOutput(argv);
  const job = new TestJob('cycles');
  t.teardown(() => job.cleanup());
  const out = path.join(job.work, 'out.txt');
  let runner = job.launch(argv);
  for (let c = 1; c <= cycles; c++) {
    const s = await job.running();
    await waitFor(`more output in cycle ${c}`, () => lines(out) >= c * everyLines, 30_000);
    const cp = await job.command('--bcheckpoint');
    t.is(cp.code, 0, cp.stderr);
    t.regex(cp.stdout, /checkpoint generation \d+ written to .* in [\d.]+ s/);
    const gen = job.latestGeneration(s.ckptDir);
    t.true(gen >= c, `generation ${gen} committed in cycle ${c}`);
    await job.killAll(s);
    t.is((await runner.exited).code, 137);
    fs.rmSync(job.portFile, { force: true });
    runner = job.restartScript();
  }
  const r = await runner.exited;
  t.is(r.code, 0, r.stderr);
  t.is(readIf(out), await reference, 'byte-identical to an uninterrupted run');
}

test('three kill/restart cycles in a row with --bcheckpoint', async (t) => {
  await checkpointKillRestartCycles(t, [program('counter'), 'out.txt', '80', '200'], 3, 8);
});

test('a multi-threaded program (8 threads, mutex, condvar, FP) survives two cycles', async (t) => {
  await checkpointKillRestartCycles(t, [program('threads'), 'out.txt', '40', '200'], 2, 10);
});
