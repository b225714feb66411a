// Jobs of several processes on one host: a shell pipeline, and a build run by make -j2.
// Each is checkpointed mid-run (data in the pipes, children working), killed with its
// coordinator, restarted with cairn_restart.sh, and must leave exactly the files an
// uninterrupted run leaves.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { projectRoot } from '../../common/paths.js';
import { readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { uninterruptedOutput } from './reference.js';

/** Launch, checkpoint once ready() holds, kill -9 everything, restart, compare out.txt. */
async function resumesLikeUninterrupted(t: import('ava').ExecutionContext, argv: string[], ready: (work: string) => boolean, checkpointArgs: string[] = []) {
  const reference = uninterruptedOutput(argv);
  reference.catch(() => undefined);
  const job = new TestJob('tree');
  t.teardown(() => job.cleanup());
  const runner = job.launch(argv);
  const s = await job.running();
  await waitFor('the job to get going', () => ready(job.work), 20_000);
  const cp = await job.command('--bcheckpoint', ...checkpointArgs);
  t.is(cp.code, 0, cp.stderr.trim());
  if (cp.code !== 0) {
    await reference.catch(() => '');
    return;
  }
  t.true(fs.existsSync(path.join(job.work, 'out.txt')) === false || !readIf(path.join(job.work, 'out.txt')).includes('done'), 'checkpointed mid-run');
  await job.killAll(s);
  t.is((await runner.exited).code, 137);
  fs.rmSync(job.portFile, { force: true });
  const r = await job.restartScript().exited;
  t.is(r.code, 0, r.stderr.trim());
  t.is(readIf(path.join(job.work, 'out.txt')), await reference, 'the same output as an uninterrupted run');
}

// generator | filter | sort | uniq -c: the generator is slow, so at the checkpoint bytes
// wait in the first pipes and sort holds what it has read.
const PIPELINE = 'for i in $(seq 1 4000); do echo $(( (i * 7919) % 61 )); if [ $((i % 50)) = 0 ]; then sleep 0.05; fi; done | sed -e "s/^1/one-/" | sort | uniq -c > out.txt; echo done >> out.txt';

test.serial('a bash pipeline checkpointed mid-stream finishes with the output of an uninterrupted run', async (t) => {
  let started = 0;
  await resumesLikeUninterrupted(t, ['/bin/bash', '-c', PIPELINE], () => (started ||= Date.now()) < Date.now() - 600);
});

test.serial('the same pipeline from zstd images (every process\'s pages decompressed and passed to its restorer)', async (t) => {
  let started = 0;
  await resumesLikeUninterrupted(t, ['/bin/bash', '-c', PIPELINE], () => (started ||= Date.now()) < Date.now() - 600, ['--compress', 'zstd']);
});

// make -j2 of a small C project (test/programs/build), each compile followed by a pause:
// checkpointed once the first object exists, with make, its jobserver pipe, shells and
// compilers in flight. The job itself copies the sources in, and records the checksums of
// every build product and the program's output.
let srcDir = '';
test.before(() => {
  srcDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-build-src-'));
  fs.chmodSync(srcDir, 0o755);
  const from = path.join(projectRoot(), 'test', 'programs', 'build');
  for (const f of fs.readdirSync(from)) {
    fs.copyFileSync(path.join(from, f), path.join(srcDir, f));
    fs.chmodSync(path.join(srcDir, f), 0o644);
  }
});
test.after.always(() => {
  if (srcDir) fs.rmSync(srcDir, { recursive: true, force: true });
});

test.serial('make -j2 checkpointed mid-build produces the same build products as an uninterrupted build', async (t) => {
  const script = `cp ${srcDir}/* . && make -j2 -s && sha256sum *.o app > out.txt && ./app >> out.txt && echo done >> out.txt`;
  await resumesLikeUninterrupted(t, ['/bin/bash', '-c', script], (work) => fs.existsSync(path.join(work, 'main.o')) || fs.existsSync(path.join(work, 'part1.o')));
});
