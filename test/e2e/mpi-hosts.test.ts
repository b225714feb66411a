// An MPI job over the three hosts of the test bed, under Debian's Open MPI and MPICH: the
// user runs `cairn launch mpirun ...` on node1; mpirun starts its daemons on node2 and node3
// through cairn-rsh, so they and their ranks are members of the same job. Six ranks of
// test/testbed/mpi/ring_sum.c (token ring + allreduce, every value checked, a checksum at
// the end) are checkpointed by hand, killed on every host, restarted on the same hosts by
// cairn_restart.sh with interval checkpoints, killed again after an interval checkpoint,
// and restarted on permuted hosts from a hostfile; ./result must equal that of a run
// without cairn.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { readIf, waitFor } from '../helpers/cairn.js';
import { requireTestbed } from '../helpers/cluster.js';
import { buildRingSum, MPICH, MpiJob, OPENMPI, RANKS, ranksByHost, type Flavor } from '../helpers/mpi.js';

async function checkpointedTwiceAndMoved(t: import('ava').ExecutionContext, f: Flavor) {
  requireTestbed();
  const ref = new MpiJob(f, 'ref');
  const job = new MpiJob(f, 'job');
  t.teardown(() => Promise.all([ref.cleanup(), job.cleanup()]));
  try {
    await cycles(t, f, ref, job);
  } catch (e) {
    t.log(agentLogs(job));
    throw e;
  } finally {
    if (!t.passed) t.log(agentLogs(job));
  }
}

async function cycles(t: import('ava').ExecutionContext, f: Flavor, ref: MpiJob, job: MpiJob) {
  const prog = await buildRingSum(f, job.dir);

  // The reference: the same program without cairn, to the end (no sleep: the same values).
  const r0 = await ref.onNode1(ref.mpirun(prog, true), 300_000);
  t.is(r0.code, 0, r0.stderr);
  const expected = ref.result();
  t.regex(expected, new RegExp(`RING SUM OK size=${RANKS} `));

  // 1. Launched by cairn on node1; mpirun's daemons join from node2 and node3.
  const run1 = job.onNode1(job.cairnArgs('launch', '--', ...job.mpirun(prog)), 600_000);
  const s1 = await job.allRanks();
  t.deepEqual(ranksByHost(s1), [[0, 1], [2, 3], [4, 5]], 'cairn command --status: two ranks on each host');
  await waitFor('the ring to get going', () => job.heartbeats() >= 3, 120_000, 200);
  const cp1 = await job.command('--bcheckpoint');
  t.is(cp1.code, 0, cp1.stderr);
  t.is(job.result(), '', 'checkpointed mid-run');
  await job.status();
  job.killAll();
  const end1 = await run1;
  t.not(end1.code, 0, 'killed');

  // 2. Back on the same hosts with cairn_restart.sh, with interval checkpoints; killed
  // again once one was made.
  fs.rmSync(job.portFile, { force: true });
  const gen1 = job.latest();
  const run2 = job.onNode1(['sh', path.join(job.ckpt, 'cairn_restart.sh'), '--interval', '4'], 600_000);
  const s2 = await job.allRanks();
  t.deepEqual(ranksByHost(s2), [[0, 1], [2, 3], [4, 5]], 'restarted on the same hosts');
  await waitFor('an interval checkpoint after the restart', () => job.latest() > gen1, 120_000, 200);
  t.is(job.result(), '', 'checkpointed mid-run again');
  await job.status();
  job.killAll();
  await run2;

  // 3. Back on permuted hosts, as a user does with a hostfile of the new hosts in the
  // order of the old ones: node1's processes on node2, node2's on node3, node3's on node1.
  fs.rmSync(job.portFile, { force: true });
  const moved = path.join(job.dir, 'hosts.moved');
  fs.writeFileSync(moved, 'node2\nnode3\nnode1\n', { mode: 0o644 });
  const jobDir = path.dirname(fs.realpathSync(path.join(job.ckpt, fs.readdirSync(job.ckpt).find((n) => fs.existsSync(path.join(job.ckpt, n, 'latest')))!, 'latest')));
  const run3 = job.onNode1(job.cairnArgs('restart', '--hostfile', moved, jobDir), 600_000);
  const s3 = await job.allRanks();
  // --status names each member by its agent's host (the processes keep their old hostname).
  t.deepEqual(ranksByHost(s3), [[4, 5], [0, 1], [2, 3]], "node1's ranks on node2, node2's on node3, node3's on node1");
  const end3 = await run3;
  t.is(end3.code, 0, end3.stderr.slice(-2000));
  t.is(job.result(), expected, 'the result of an uninterrupted run');
}

/** The agents' logs, for a failure's message. */
function agentLogs(job: MpiJob): string {
  return fs.readdirSync(job.ckpt).filter((n) => n.endsWith('.log')).map((n) => `--- ${n}\n${readIf(path.join(job.ckpt, n)).slice(-3000)}`).join('\n');
}

test.serial('Open MPI, 6 ranks on 3 hosts: checkpointed, killed everywhere, restarted on the same and then on permuted hosts, ends with the checksum of an uninterrupted run', async (t) => {
  await checkpointedTwiceAndMoved(t, OPENMPI);
});

test.serial('MPICH, 6 ranks on 3 hosts: checkpointed, killed everywhere, restarted on the same and then on permuted hosts, ends with the checksum of an uninterrupted run', async (t) => {
  await checkpointedTwiceAndMoved(t, MPICH);
});

test.serial("cairn-rsh starts commands on other hosts in the job before a checkpoint and again after a restart (the agent's socket is served again)", async (t) => {
  requireTestbed();
  const job = new MpiJob(OPENMPI, 'rsh');
  t.teardown(() => job.cleanup());
  // What an MPI launcher does with OMPI_MCA_plm_rsh_agent (cairn-rsh), by hand.
  const script = '"$OMPI_MCA_plm_rsh_agent" node3 hostname > before.txt; while [ ! -e go ]; do sleep 0.2; done; "$OMPI_MCA_plm_rsh_agent" node2 hostname > after.txt';
  const run = job.onNode1(job.cairnArgs('launch', '--', '/bin/sh', '-c', script), 180_000);
  await waitFor('the first remote command', () => readIf(path.join(job.dir, 'before.txt')) !== '', 60_000, 200);
  t.is(readIf(path.join(job.dir, 'before.txt')), 'node3\n');
  // The remote command has printed, but its host's part of the job may still be ending: a
  // checkpoint it ends in is aborted (as when any process of the job ends during one), so
  // wait until that host says it has exited.
  await waitFor('node3 to say its part of the job has exited', async () => (await job.status()).member.every((m) => m.host !== 'node3' || m.state.startsWith('exited')), 60_000, 200);
  const cp = await job.command('--bcheckpoint');
  t.is(cp.code, 0, cp.stderr);
  await job.status();
  job.killAll();
  await run;
  fs.rmSync(job.portFile, { force: true });
  const restarted = job.onNode1(['sh', path.join(job.ckpt, 'cairn_restart.sh')], 180_000);
  await waitFor('the restarted job', () => readIf(job.portFile).trim() !== '', 120_000, 200);
  await job.status();
  fs.writeFileSync(path.join(job.dir, 'go'), '');
  const r = await restarted;
  t.is(r.code, 0, r.stderr);
  t.is(readIf(path.join(job.dir, 'after.txt')), 'node2\n', 'a command started on node2 after the restart');
});
