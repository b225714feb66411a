// A job whose stdout is a shell pipe (`cairn launch ... | cat`): that pipe is the launcher's,
// not the job's. After a restart from `./cairn_restart.sh | cat`, the job writes into the
// restarter's pipe — it is not saved and recreated as a pipe of the job's own (which would
// have no reader after the restart).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { cairnBin } from '../../common/paths.js';
import { readIf, spawnAsUser, waitFor, Background } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const LOOP = 'for i in $(seq 1 30); do echo "line $i"; sleep 0.1; done; echo end';

test('stdout piped by the shell goes to the restarter\'s pipe after restart', async (t) => {
  const job = new TestJob('stdio-pipe');
  t.teardown(() => job.cleanup());
  const before = path.join(job.work, 'before.txt');
  const after = path.join(job.work, 'after.txt');
  const launch = [process.execPath, cairnBin(), 'launch', '--new-coordinator', '--coord-port', '0', '--port-file', job.portFile, '--ckptdir', job.ckpt, '/bin/bash', '-c', LOOP].map(sh).join(' ');
  const launcher = new Background(spawnAsUser('/bin/sh', ['-c', `${launch} | cat > ${sh(before)}`], { cwd: job.work }));
  t.teardown(() => launcher.stop());
  const s = await job.running();
  await waitFor('a few lines', () => readIf(before).split('\n').filter(Boolean).length >= 5, 15_000);
  const cp = await job.command('--bcheckpoint');
  t.is(cp.code, 0, cp.stderr.trim());
  await job.killAll(s);
  fs.rmSync(job.portFile, { force: true });
  const restarter = new Background(spawnAsUser('/bin/sh', ['-c', `./cairn_restart.sh | cat > ${sh(after)}`], { cwd: job.ckpt }));
  t.teardown(() => restarter.stop());
  const r = await restarter.exited;
  t.is(r.code, 0, r.stderr.trim());
  const got = readIf(after).split('\n').filter(Boolean);
  t.true(got.length > 0, 'the restarted job wrote into the restarter\'s pipe');
  t.is(got[got.length - 1], 'end');
  const first = Number(/^line (\d+)$/.exec(got[0] ?? '')?.[1] ?? 0);
  t.deepEqual(got.slice(0, -1), Array.from({ length: 30 - first + 1 }, (_, k) => `line ${first + k}`), 'every line after the checkpoint, once, in order');
});
