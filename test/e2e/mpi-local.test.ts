// An MPI job with its ranks on one host, under Debian's Open MPI and MPICH: mpirun/mpiexec,
// its daemon and two ranks of test/testbed/mpi/ring.c (a token ring and allreduces, every
// value checked each iteration) checkpointed mid-run, killed, restarted; the run completes
// ("RING OK"). What this needs of the engine: pseudo-terminals made in the job (Open MPI
// gives each local rank one as stdout), TCP connections inside the job (mpirun <-> ranks,
// Hydra's control port shared by inheritance), shared memory files in /dev/shm (vader
// segments, UCX's unlinked posix segments), nested epoll (UCX).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../common/paths.js';
import { waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';

let binDir = '';
test.before(() => {
  binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-mpi-local-'));
  fs.chmodSync(binDir, 0o755);
});
test.after.always(() => {
  if (binDir) fs.rmSync(binDir, { recursive: true, force: true });
});

function need(file: string, pkg: string): string {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: install ${pkg} (scripts/setup-debian.sh)`);
  return file;
}

function ring(mpicc: string): string {
  const out = path.join(binDir, `ring-${path.basename(mpicc)}`);
  execFileSync(mpicc, ['-O2', '-o', out, path.join(projectRoot(), 'test', 'testbed', 'mpi', 'ring.c')], { stdio: 'inherit' });
  fs.chmodSync(out, 0o755);
  return out;
}

async function checkpointKillRestart(t: import('ava').ExecutionContext, argv: string[], env: Record<string, string>) {
  const job = new TestJob('mpi-local');
  t.teardown(() => job.cleanup());
  const runner = job.launch(argv, { env });
  const s = await job.running();
  await waitFor('two heartbeats of the ring', () => /t=\s*2\.\d+s/.test(runner.stdout), 30_000);
  // --status names the ranks among the job's processes (the agent's heartbeat, every 5 s).
  let ranks = '';
  for (const end = Date.now() + 20_000; ranks !== '0,1' && Date.now() < end; await new Promise((r) => setTimeout(r, 500))) {
    const st = await job.command('--status');
    ranks = [...st.stdout.matchAll(/ rank (\d+)/g)].map((m) => m[1]).sort().join(',');
  }
  t.is(ranks, '0,1', 'cairn command --status shows ranks 0 and 1');
  const cp = await job.command('--bcheckpoint');
  t.is(cp.code, 0, cp.stderr.trim());
  if (cp.code !== 0) return;
  t.false(runner.stdout.includes('RING OK'), 'checkpointed mid-run');
  await job.killAll(s);
  await runner.exited;
  fs.rmSync(job.portFile, { force: true });
  const r = await job.restartScript([], undefined, env).exited;
  t.is(r.code, 0, r.stderr.trim());
  t.regex(r.stdout, /RING OK size=2 /, `the restarted run completes: ${r.stdout.slice(-300)} ${r.stderr.slice(-300)}`);
}

test.serial('Open MPI: mpirun with two local ranks is checkpointed, killed and restarted, and completes its checked ring', async (t) => {
  const prog = ring(need('/usr/bin/mpicc.openmpi', 'libopenmpi-dev'));
  const mpirun = need('/usr/bin/mpirun.openmpi', 'openmpi-bin');
  await checkpointKillRestart(t, [mpirun, '-np', '2', '--oversubscribe', '--bind-to', 'none', prog, '10'], { OMPI_MCA_mpi_yield_when_idle: '1' });
});

test.serial('MPICH: mpiexec with two local ranks is checkpointed, killed and restarted, and completes its checked ring', async (t) => {
  const prog = ring(need('/usr/bin/mpicc.mpich', 'libmpich-dev'));
  const mpiexec = need('/usr/bin/mpiexec.mpich', 'mpich');
  await checkpointKillRestart(t, [mpiexec, '-n', '2', prog, '10'], {});
});
