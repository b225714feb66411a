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
  const launcher = job.launch([program('blocked'), 'out.txt', '3000'], { input: '' });
  const s = await job.running();
  await waitFor('the threads to block', () => readIf(out).includes('started'), 10_000);
  await new Promise((r) => setTimeout(r, 500));
  const cp = await job.command('--bcheckpoint');
  t.is(cp.code, 0, cp.stderr);
  await job.killAll(s);
  await launcher.exited;
  const before = readIf(out);
  const restarted = job.restartScript([], '');
  await job.running();
  restarted.write('hello\n');
  const r = await restarted.exited;
  t.is(r.code, 0, r.stderr);
  const after = readIf(out).slice(before.length).split('\n').filter(Boolean).sort();
  const expected = ['done pid 2', 'reader got 6 bytes [hello] pid 2', 'sleeper woke pid 2', 'waiter signalled pid 2'];
  if (!before.includes('main half-way')) expected.push('main half-way pid 2');
  t.deepEqual(after, expected.sort());
});
