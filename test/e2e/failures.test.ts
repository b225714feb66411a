// What goes wrong must be said in one line, and must cost the user nothing: a refused
// command, a failed or aborted checkpoint (job running, previous generation intact), and
// restarts from missing, truncated or damaged images or files.
import test from 'ava';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { alive, cairn, readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { program } from '../helpers/programs.js';
import { readImage } from '../../agent/image-file.js';
import { checkpointedCounter, flipByte, oneLineError, punchStackTop } from '../helpers/damage.js';
import { checkpointedBigmem, restartBigmem } from '../helpers/bigmem.js';

/** Coordinators of the checkpoint directory DIR: spawned with it in their flags, or a spare
 * (cli/coordinator-spare.ts) handed it later, which keeps its log there open. */
function coordinatorsOf(dir: string): number[] {
  const logsIn = (pid: number) => {
    try {
      return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(dir + '/');
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  };
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
    const argv = readIf(`/proc/${pid}/cmdline`).split('\0');
    return argv.some((a) => a.endsWith('daemon-main.js')) && (argv.includes(dir) || (argv.includes('--spare') && logsIn(pid)));
  });
}

test('commands without the job secret, or with a wrong one, are refused', async (t) => {
  const job = new TestJob('secret');
  t.teardown(() => job.cleanup());
  job.launch([program('counter'), 'out.txt', '200', '100']);
  const s = await job.running();
  const port = readIf(job.portFile).trim();
  const wrong = await cairn(['command', '-s', '--coord-port', port], { cwd: job.work, env: { CAIRN_SECRET: 'ab'.repeat(32) } });
  oneLineError(t, wrong, /refused the job secret/);
  const missing = await cairn(['command', '-s', '--coord-port', port], { cwd: job.work });
  oneLineError(t, missing, /no job secret at/);
  const cp = await cairn(['command', '--bcheckpoint', '--coord-port', port], { cwd: job.work, env: { CAIRN_SECRET: 'cd'.repeat(32) } });
  oneLineError(t, cp, /refused the job secret/);
  t.is(job.latestGeneration(s.ckptDir), 0, 'nothing was checkpointed');
  const secret = readIf(path.join(job.ckpt, '.cairn-secret')).trim();
  t.false(readIf(`/proc/${s.coordinatorPid}/cmdline`).includes(secret), 'the secret is not on a command line');
  const ok = await job.command('-s');
  t.is(ok.code, 0, ok.stderr);
  t.is((await job.command('--kill')).code, 0);
  t.is((await job.launcher!.exited).code, 137);
});

test('a failed checkpoint leaves the job running and the previous generation latest', async (t) => {
  const job = new TestJob('failcp');
  t.teardown(() => job.cleanup());
  job.launch([program('counter'), 'out.txt', '400', '50']);
  const s = await job.running();
  t.is((await job.command('--bcheckpoint')).code, 0);
  t.is(job.latestGeneration(s.ckptDir), 1);
  fs.chmodSync(s.ckptDir, 0o500);   // the job directory cannot take a new generation
  try {
    const r = await job.command('--bcheckpoint');
    oneLineError(t, r, /checkpoint failed/);
  } finally {
    fs.chmodSync(s.ckptDir, 0o700);
  }
  t.is(job.latestGeneration(s.ckptDir), 1, 'latest still points to the last good generation');
  const pid = s.member[0]!.processes[0]!.hostPid;
  const n = readIf(path.join(job.work, 'out.txt')).length;
  await waitFor('the job to go on writing', () => readIf(path.join(job.work, 'out.txt')).length > n, 5000);
  t.true(alive(pid));
  const again = await job.command('--bcheckpoint');
  t.is(again.code, 0, again.stderr);
  t.true(job.latestGeneration(s.ckptDir) > 1);
  t.is(fs.readdirSync(s.ckptDir).filter((d) => d.includes('partial')).length, 0, 'no partial generation left');
});

test('the program dying during a checkpoint aborts it; the previous generation stays latest', async (t) => {
  const job = new TestJob('diecp');
  t.teardown(() => job.cleanup());
  job.launch([program('bigmem'), 'out.txt', '384', 'random', '100000', '200']);
  const s = await job.running();
  await waitFor('the memory to be filled', () => readIf(path.join(job.work, 'out.txt')).includes('ready'), 60_000);
  t.is((await job.command('--bcheckpoint')).code, 0);
  const pending = job.command('--bcheckpoint');
  await waitFor('the second checkpoint to write its image', () => {
    const partial = fs.readdirSync(s.ckptDir).find((d) => d.includes('partial'));
    if (!partial) return false;
    return fs.readdirSync(path.join(s.ckptDir, partial)).some((f) => f.endsWith('.cimg'));
  }, 30_000, 5);
  process.kill(s.member[0]!.processes[0]!.hostPid, 'SIGKILL');
  const r = await pending;
  oneLineError(t, r, /checkpoint failed: .*(CHECKPOINTED|exited|No such process)/);
  t.is(job.latestGeneration(s.ckptDir), 1);
  t.is(fs.readdirSync(s.ckptDir).filter((d) => d.includes('partial')).length, 0);
  t.is((await job.launcher!.exited).code, 137);
});

test('restart refuses missing, truncated and damaged images, and missing or shrunk files, in one line', async (t) => {
  const job = new TestJob('badimg');
  t.teardown(() => job.cleanup());
  const { gen, size, bad, copy } = await checkpointedCounter(t, job, 200);
  const cases: Array<[string, RegExp]> = [
    [path.join(bad, 'missing.cimg'), /does not exist/],
    [copy('truncated', (f) => fs.truncateSync(f, Math.floor(size / 2))), /truncated/],
    [copy('pages', flipByte(4096 + 123)), /corrupted|checksum/],
    // a lost page reads as a hole, which the restore would take for a zero page left out
    [copy('hole', punchStackTop), /damaged: checksum mismatch/],
    [copy('meta', flipByte(size - 20)), /corrupted|checksum/],
    [path.join(job.root, 'nowhere'), /does not exist/],
  ];
  // Output written after the checkpoint would be cut back by a restart that works: one that
  // fails (the damaged pages are found while memory is filled) must leave it.
  const out = path.join(job.work, 'out.txt');
  fs.appendFileSync(out, 'written after the checkpoint\n');
  const before = fs.readFileSync(out);
  for (const [target, pattern] of cases) {
    const r = await cairn(['restart', '--coord-port', '0', '--ckptdir', job.ckpt, target], { cwd: job.work, timeoutMs: 30_000 });
    oneLineError(t, r, pattern);
    t.deepEqual(fs.readFileSync(out), before, `${target}: the output file is as it was`);
  }
  // The coordinator starts while the pages are checked, and the restore makes the job once it
  // answers: one that cannot start (its port taken) abandons the restore before the job runs.
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const port = (taken.address() as net.AddressInfo).port;
    const r = await cairn(['restart', '--new-coordinator', '--coord-port', String(port), gen], { cwd: job.work, timeoutMs: 30_000 });
    oneLineError(t, r, /coordinator did not start/);
    await new Promise((resolve) => setTimeout(resolve, 1000));   // a job let go would write in this time
    t.deepEqual(fs.readFileSync(out), before, 'the output file is as it was: the job never ran');
  } finally {
    taken.close();
  }
  fs.renameSync(out, `${out}.moved`);
  // The coordinator starts as the restart begins: a restart refused after that stops it, and
  // puts back the port file it may have written.
  const portFile = path.join(job.work, 'refused.port');
  const gone = await cairn(['restart', '--coord-port', '0', '--port-file', portFile, gen], { cwd: job.work, timeoutMs: 30_000 });
  oneLineError(t, gone, new RegExp(`file ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*no longer exists`));
  t.false(fs.existsSync(portFile), 'no port file of a stopped coordinator');
  t.deepEqual(coordinatorsOf(job.ckpt), [], 'no coordinator left');
  fs.renameSync(`${out}.moved`, out);
  fs.truncateSync(out, 10);
  const shrunk = await cairn(['restart', '--coord-port', '0', gen], { cwd: job.work, timeoutMs: 30_000 });
  oneLineError(t, shrunk, /shrank from \d+ to 10 bytes/);
});

test('a damaged page deep in a large image is found by one of the threads reading it in: the restart fails in one line, nothing left running', async (t) => {
  const job = new TestJob('bigbad');
  t.teardown(() => job.cleanup());
  // 320 MiB: five chunks of 64 MiB, read in by five threads of the restorer at once
  const gen = await checkpointedBigmem(t, job, 320, 'random');
  const image = path.join(gen, fs.readdirSync(gen).find((f) => f.endsWith('.cimg'))!);
  const big = readImage(image).image.vmas.flatMap((v) => v.runs).reduce((a, b) => (Number(b.len) > Number(a.len) ? b : a));
  t.true(Number(big.len) >= 300 * 2 ** 20, 'the memory is one run in the image');
  // in the run's fourth chunk
  const into = 3 * 64 * 2 ** 20 + 5 * 4096;
  const damaged = Number(big.addr) + into;
  const flip = flipByte(Number(big.offset) + into + 7);
  flip(image);
  const before = fs.readFileSync(path.join(job.work, 'out.txt'));
  const log = path.join(job.work, 'restorer.log');
  const r = await cairn(['restart', '--coord-port', '0', gen], { cwd: job.work, timeoutMs: 60_000, env: { CAIRN_RESTORER_LOG: log } });
  oneLineError(t, r, /damaged: checksum mismatch in page run/);
  t.regex(readIf(log), new RegExp(`FAIL: page checksum mismatch at 0x0*${damaged.toString(16)}\\b`), 'the restorer found the page');
  t.deepEqual(fs.readFileSync(path.join(job.work, 'out.txt')), before, 'the output file is as it was');
  t.deepEqual(coordinatorsOf(job.ckpt), [], 'no coordinator left');
  // Mended, the same image restarts, read in by as many threads, and the memory checks out.
  flip(image);
  const { restarted, log: restorerLog } = await restartBigmem(t, job, gen);
  const filled = /(\d+) chunks filled by (\d+) threads/.exec(restorerLog());
  t.truthy(filled, restorerLog());
  t.true(Number(filled?.[2]) >= 5, `five threads or more read the memory in: ${filled?.[0]}`);
  t.is((await job.command('--kill')).code, 0);
  await restarted.exited;
});
