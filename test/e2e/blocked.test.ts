// Threads stopped inside nanosleep, read and a futex wait at checkpoint time resume
// correctly after a restart: the read is served from the restarter's stdin.
import test from 'ava';
import path from 'node:path';
import { readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { program } from '../helpers/programs.js';

test('nanosleep, read(stdin) and futex wait resume after restart', async (t) => {
  const job = new TestJob('blocked');
  t.teardown(() => job.cleanup());
  const out = path.join(job.work, 'out.txt');
  const launcher = job.launch([program('blocked'), 'out.txt', '8000'], { input: '' });
  const s = await job.running();
  await waitFor('the threads to block', () => readIf(out).includes('started'), 10_000);
  await new Promise((r) => setTimeout(r, 500));
  const cp = await job.command('--bcheckpoint');
  t.is(cp.code, 0, cp.stderr);
  await job.killAll(s);
  await launcher.exited;
  t.is(readIf(out).trim(), 'started pid 2', 'every thread was still blocked when the job was killed');
  const restarted = job.restartScript([], '');
  await job.running();
  restarted.write('hello\n');
  const r = await restarted.exited;
  t.is(r.code, 0, r.stderr);
  // Each line exactly once: nothing lost, nothing written twice.
  const lines = readIf(out).split('\n').filter(Boolean).sort();
  t.deepEqual(lines, ['done pid 2', 'main half-way pid 2', 'reader got 6 bytes [hello] pid 2', 'sleeper woke pid 2', 'started pid 2', 'waiter signalled pid 2']);
});
