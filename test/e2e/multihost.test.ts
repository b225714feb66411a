// Jobs over several hosts of the test bed (test/testbed), run by the ordinary test user:
// agents started over ssh (launch --hosts), a member that joins from another host
// (launch --coord-host), a lost agent in every checkpoint phase, a lost coordinator, and a
// checkpoint restarted on permuted hosts. The bed's hosts share this machine's filesystem
// and PID numbering, so the test reads their output files and kills their processes here.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cairnBin, projectRoot } from '../../common/paths.js';
import { alive, Background, cairn, cairnBackground, killPid, readIf, runAsUser, waitFor, type RunResult } from '../helpers/cairn.js';
import { CLUSTER_HOST, requireTestbed, sshAsUser } from '../helpers/cluster.js';
import { mkdirForUser, scratchDir } from '../helpers/scratch.js';
import { testUser } from '../helpers/user.js';

// One line per step into out.<hostname>, through a descriptor kept open, so that a
// checkpoint records the file's size and a restart cuts back what was written after it.
const PROGRAM = `#!/bin/sh
h=$(hostname)
exec 3>out.$h
i=0
while [ $i -lt "$1" ]; do i=$((i+1)); echo "$h $i" >&3; sleep 0.1; done
`;

interface Status {
  lastGeneration: number;
  lastError: string;
  coordinatorPid: number;
  member: Array<{ host: string; state: string; agentPid: number; processes: Array<{ hostPid: number }> }>;
  remote: Array<{ host: string; state: string }>;
}

class HostsJob {
  readonly dir: string;
  readonly ckpt: string;
  readonly portFile: string;
  private remove: () => void;
  private pids = new Set<number>();
  private bg: Background[] = [];

  constructor(name: string) {
    const s = scratchDir(`cairn-mh-${name}-`);
    this.dir = s.dir;
    this.remove = s.remove;
    this.ckpt = mkdirForUser(path.join(this.dir, 'ckpt'));
    this.portFile = path.join(this.dir, 'port');
    fs.writeFileSync(path.join(this.dir, 'prog.sh'), PROGRAM, { mode: 0o755 });
  }
  out(host: string): string {
    return readIf(path.join(this.dir, `out.${host}`));
  }
  launch(hosts: string[], steps: number): Background {
    const b = cairnBackground(['launch', '--coord-port', '0', '--port-file', this.portFile, '--ckptdir', this.ckpt, '--hosts', hosts.join(','), './prog.sh', String(steps)], { cwd: this.dir });
    this.bg.push(b);
    return b;
  }
  get port(): number {
    return Number(readIf(this.portFile).trim());
  }
  /** `cairn launch --coord-host` on host: a member that joins the running job. */
  join(host: string, steps: number, env = ''): Promise<RunResult> {
    return sshAsUser(host, `cd ${this.dir} && ${env} ${process.execPath} ${cairnBin()} launch -q --coord-host ${CLUSTER_HOST} --coord-port ${this.port} --ckptdir ${this.ckpt} ./prog.sh ${steps}`, 120_000);
  }
  command(...args: string[]): Promise<RunResult> {
    return cairn(['command', '--port-file', this.portFile, '--ckptdir', this.ckpt, ...args], { cwd: this.dir });
  }
  async status(): Promise<Status> {
    const r = await this.command('--status', '--json');
    if (r.code !== 0) throw new Error(`status: ${r.stderr}`);
    const s = JSON.parse(r.stdout) as Status;
    this.pids.add(s.coordinatorPid);
    for (const m of s.member) for (const p of [{ hostPid: m.agentPid }, ...m.processes]) this.pids.add(p.hostPid);
    return s;
  }
  async members(n: number): Promise<Status> {
    let s: Status | undefined;
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      await waitFor('the port file', () => readIf(this.portFile).trim() !== '', 30_000);
      s = await this.status().catch(() => undefined);
      if (s && s.member.filter((m) => m.state === 'running' && m.processes.length).length >= n) return s;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the job did not get ${n} running members: ${JSON.stringify(s)}`);
  }
  /** `cairn launch --hosts` of any command (run in the job's directory on every host). */
  launchCmd(hosts: string[], argv: string[], ...opts: string[]): Background {
    const b = cairnBackground(['launch', '--coord-port', '0', '--port-file', this.portFile, '--ckptdir', this.ckpt, '--hosts', hosts.join(','), ...opts, ...argv], { cwd: this.dir });
    this.bg.push(b);
    return b;
  }
  jobDir(): string {
    const jobs = fs.readdirSync(this.ckpt).filter((n) => fs.existsSync(path.join(this.ckpt, n, 'latest')));
    return path.join(this.ckpt, jobs[0] ?? '');
  }
  latest(): number {
    try {
      return Number(/gen-(\d+)/.exec(fs.readlinkSync(path.join(this.jobDir(), 'latest')))?.[1] ?? 0);
    } catch {
      return 0;
    }
  }
  remember(pids: number[]): void {
    for (const p of pids) this.pids.add(p);
  }
  /** kill -9 of every process seen (job processes, agents' job trees, coordinator). */
  killAll(): void {
    for (const p of this.pids) killPid(p);
  }
  /** With the test's context: after a failure, the agents' and the coordinator's logs are
   * printed first (the directory that holds them goes). */
  async cleanup(t?: { passed: boolean }): Promise<void> {
    await this.command('--quit').catch(() => undefined);
    this.killAll();
    await Promise.all(this.bg.map((b) => b.stop()));
    if (t && !t.passed) this.printLogs();
    this.remove();
  }
  private printLogs(): void {
    const walk = (d: string): string[] => {
      try {
        return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : /^cairn-.*\.log$/.test(e.name) ? [path.join(d, e.name)] : []));
      } catch {
        return [];
      }
    };
    for (const f of walk(this.ckpt)) console.error(`--- ${path.relative(this.dir, f)}\n${readIf(f).split('\n').slice(-60).join('\n')}`);
  }
}

const expected = (host: string, steps: number) => Array.from({ length: steps }, (_, i) => `${host} ${i + 1}\n`).join('');

test.serial('a job on three hosts, checkpointed, killed everywhere and restarted on permuted hosts, writes what an uninterrupted run writes', async (t) => {
  requireTestbed();
  const hosts = ['node1', 'node2', 'node3'];
  const steps = 60;
  const ref = new HostsJob('ref');
  const job = new HostsJob('perm');
  t.teardown(() => Promise.all([ref.cleanup(t), job.cleanup(t)]));
  const refRun = ref.launch(hosts, steps);
  const run = job.launch(hosts, steps);
  await job.members(3);
  await waitFor('the job to get going', () => hosts.every((h) => job.out(h).split('\n').length > 10), 30_000);
  const cp = await job.command('--bcheckpoint');
  t.is(cp.code, 0, cp.stderr);
  const atCheckpoint = hosts.map((h) => job.out(h));
  t.true(atCheckpoint.every((o) => o !== '' && !o.includes(`${steps}\n`)), 'checkpointed mid-run');
  await new Promise((r) => setTimeout(r, 500));   // write past the checkpoint, to be cut back
  await job.status();
  job.killAll();
  await run.exited;
  t.is((await refRun.exited).code, 0, refRun.stderr);
  for (const h of hosts) t.is(ref.out(h), expected(h, steps), `uninterrupted ${h}`);

  // node1's processes come back on node2, node2's on node3, node3's on node1; each keeps
  // its hostname, so each still writes out.<its old host>.
  fs.rmSync(job.portFile, { force: true });
  const r = await cairn(['restart', '--coord-port', '0', '--port-file', job.portFile, '--host-map', 'node1=node2,node2=node3,node3=node1', job.ckpt], { cwd: job.dir, timeoutMs: 120_000 });
  t.is(r.code, 0, r.stderr);
  for (const h of hosts) t.is(job.out(h), ref.out(h), `after the restart: ${h}`);
  const log = readIf(path.join(job.ckpt, 'cairn-coordinator.log'));
  t.regex(log, /member \d+ joined: host node2 .*\n(.|\n)*restarted|joined: host node2/);
});

for (const phase of ['PRECOPIED', 'SUSPENDED', 'FD_LEADER', 'DRAINED', 'CHECKPOINTED', 'WRITTEN']) {
  test.serial(`an agent lost in ${phase} aborts the checkpoint on every host; the job runs on and the previous generation restarts`, async (t) => {
    requireTestbed();
    const steps = 400;
    const job = new HostsJob(phase.toLowerCase());
    t.teardown(() => job.cleanup(t));
    const run = job.launch(['node1', 'node2'], steps);
    await job.members(2);
    // node3 joins from its own host; its agent dies in the second checkpoint's PHASE.
    const joined = job.join('node3', steps, `env CAIRN_TEST_CRASH_IN_PHASE=${phase}:2`);
    await job.members(3);
    const first = await job.command('--bcheckpoint');
    t.is(first.code, 0, first.stderr);
    t.is(job.latest(), 1);
    const second = await job.command('--bcheckpoint');
    t.not(second.code, 0, 'the checkpoint failed');
    t.regex(second.stdout + second.stderr, /node3|lost|closed|disconnected/i);
    t.is(job.latest(), 1, 'generation 1 is still the latest');
    t.false(fs.existsSync(path.join(job.jobDir(), 'gen-000002')), 'no generation 2 left behind');
    const s = await job.status();
    const byHost = (h: string) => s.member.find((m) => m.host === h)!;
    t.is(byHost('node1').state, 'running');
    t.is(byHost('node2').state, 'running');
    t.is(byHost('node3').state, 'disconnected', 'the lost agent is reported');
    // Every host's processes run on, node3's too, without their agent.
    const grows = ['node1', 'node2', 'node3'].map((h) => job.out(h).length);
    await new Promise((r) => setTimeout(r, 800));
    ['node1', 'node2', 'node3'].forEach((h, i) => t.true(job.out(h).length > grows[i]!, `${h} still writes`));
    // (its shell's short-lived children come and go: its main process must be there)
    const main3 = byHost('node3').processes[0]?.hostPid;
    t.true(main3 !== undefined && alive(main3), `node3's main process ${main3} outlives its agent`);
    for (const m of s.member) job.remember(m.processes.map((p) => p.hostPid));
    // The job without node3 can still be checkpointed.
    const third = await job.command('--bcheckpoint');
    t.is(third.code, 0, third.stderr);
    t.true(job.latest() > 1, "a new generation after the failed one");
    // Generation 1 restarts (on all three hosts) once the running job is gone.
    await job.command('--kill');
    job.killAll();
    await run.exited;
    await joined;
    fs.rmSync(job.portFile, { force: true });
    const r = cairnBackground(['restart', '--coord-port', '0', '--port-file', job.portFile, path.join(job.jobDir(), 'gen-000001')], { cwd: job.dir });
    await job.members(3);
    const after = await job.status();
    t.deepEqual(after.member.map((m) => m.host).sort(), ['node1', 'node2', 'node3']);
    await job.command('--kill');
    await r.exited;
  });
}

test.serial('the coordinator killed while the job runs: the job keeps running; a new coordinator reports that it has no job', async (t) => {
  requireTestbed();
  const job = new HostsJob('coord');
  t.teardown(() => job.cleanup(t));
  const run = job.launch(['node1', 'node2'], 400);
  const s = await job.members(2);
  const port = job.port;
  killPid(s.coordinatorPid);
  await waitFor('the coordinator to die', () => !alive(s.coordinatorPid), 10_000);
  // Each member's main process (listed first; the others are short-lived sleeps).
  const pids = s.member.map((m) => m.processes[0]!.hostPid);
  const before = ['node1', 'node2'].map((h) => job.out(h).length);
  await new Promise((r) => setTimeout(r, 1000));
  t.true(pids.every(alive), 'every job process still runs');
  ['node1', 'node2'].forEach((h, i) => t.true(job.out(h).length > before[i]!, `${h} still writes`));
  // A new coordinator on the same port: the orphaned agents do not come back to it, so a
  // checkpoint is refused with a clear message (the job must be restarted from its last
  // generation under the new coordinator to be checkpointed again).
  const coord = cairnBackground(['coordinator', '--coord-port', String(port), '--ckptdir', job.ckpt], { cwd: job.dir });
  t.teardown(() => coord.stop());
  await waitFor('the new coordinator', () => /listening/.test(coord.stderr), 20_000);
  const cp = await cairn(['command', '--coord-port', String(port), '--ckptdir', job.ckpt, '--checkpoint'], { cwd: job.dir });
  t.not(cp.code, 0);
  t.regex(cp.stdout + cp.stderr, /no job|no member|nothing/i);
  job.remember(pids);
  await job.status().catch(() => undefined);
  job.killAll();
  await run.exited;
});

test.serial("cairn_restart.sh with its host table edited moves each host's processes where the table says", async (t) => {
  requireTestbed();
  const steps = 100;
  const job = new HostsJob('script');
  t.teardown(() => job.cleanup(t));
  const run = job.launch(['node1', 'node2'], steps);
  await job.members(2);
  await waitFor('the job to get going', () => ['node1', 'node2'].every((h) => job.out(h).split('\n').length > 5), 30_000);
  const cp = await job.command('--bcheckpoint');
  t.is(cp.code, 0, cp.stderr);
  await job.status();
  job.killAll();
  await run.exited;
  // What a person does: edit the table at the top of the script.
  const script = path.join(job.ckpt, 'cairn_restart.sh');
  const text = fs.readFileSync(script, 'utf8');
  t.regex(text, /host_\d='node1'  host_\d_to='node1'/);
  fs.writeFileSync(script, text.replace(/_to='node1'/, "_to='node3'").replace(/_to='node2'/, "_to='node1'"));
  fs.rmSync(job.portFile, { force: true });
  const restart = runAsUser('sh', [script], { cwd: job.dir, timeoutMs: 120_000 });
  // --status names each member by its agent's host: node1's processes (hostname node1
  // still) now under node3's agent, node2's under node1's.
  const s = await job.members(2);
  const where = s.member.filter((m) => m.processes.length).map((m) => m.host).sort();
  t.deepEqual(where, ['node1', 'node3'], 'the restarted members run on node3 and node1');
  // Which output file each new host's processes write (the program's fd 3) tells whose they are.
  const writes = (host: string) => s.member.filter((m) => m.host === host).flatMap((m) => m.processes).map((p) => {
    try {
      return path.basename(fs.readlinkSync(`/proc/${p.hostPid}/fd/3`));
    } catch {
      return '';
    }
  });
  t.true(writes('node3').includes('out.node1'), "node1's processes came back on node3");
  t.true(writes('node1').includes('out.node2'), "node2's processes came back on node1");
  const r = await restart;
  t.is(r.code, 0, r.stderr);
  for (const h of ['node1', 'node2']) t.is(job.out(h), expected(h, steps), `${h}'s output, written from its new host`);
});


test.serial("agents are started with the user's ssh config: HostName alias, IdentityFile, StrictHostKeyChecking with known_hosts", async (t) => {
  requireTestbed();
  const job = new HostsJob('sshcfg');
  t.teardown(() => job.cleanup(t));
  const home = mkdirForUser(path.join(job.dir, 'home'));
  mkdirForUser(path.join(home, '.ssh'));
  mkdirForUser(path.join(home, 'keys'));
  const user = testUser();
  fs.copyFileSync(path.join(user.home, '.ssh', 'id_ed25519'), path.join(home, 'keys', 'k'));
  fs.chownSync(path.join(home, 'keys', 'k'), user.uid, user.gid);
  fs.chmodSync(path.join(home, 'keys', 'k'), 0o600);
  const kh = path.join(home, '.ssh', 'kh');
  fs.writeFileSync(path.join(home, '.ssh', 'config'), `Host far2\n    HostName 10.77.0.12\n    IdentityFile ~/keys/k\n    StrictHostKeyChecking yes\n    UserKnownHostsFile ~/.ssh/kh\n`);
  const launch = () => cairn(['launch', '--coord-port', '0', '--port-file', job.portFile, '--ckptdir', job.ckpt, '--hosts', 'far2', './prog.sh', '5'], { cwd: job.dir, env: { HOME: home }, timeoutMs: 60_000 });
  const refused = await launch();
  t.not(refused.code, 0);
  t.regex(refused.stderr, /far2: 10\.77\.0\.12 is not in known_hosts \(StrictHostKeyChecking yes\)/);
  t.is(job.out('node2'), '', 'nothing ran');
  // Once the host key is known, the same launch runs on node2.
  const scan = execFileSync('ssh-keyscan', ['-t', 'ed25519', '10.77.0.12'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  fs.writeFileSync(kh, scan);
  const ok = await launch();
  t.is(ok.code, 0, ok.stderr);
  t.is(job.out('node2'), expected('node2', 5));
});

test.serial('agents authenticate through ssh-agent (SSH_AUTH_SOCK); StrictHostKeyChecking accept-new records the host key', async (t) => {
  requireTestbed();
  const job = new HostsJob('sshagent');
  t.teardown(() => job.cleanup(t));
  const user = testUser();
  const home = mkdirForUser(path.join(job.dir, 'home'));
  mkdirForUser(path.join(home, '.ssh'));
  // No key file at all: only the agent holds the key.
  fs.writeFileSync(path.join(home, '.ssh', 'config'), `Host node*\n    IdentityFile ~/.ssh/missing\n    StrictHostKeyChecking accept-new\n`);
  const sock = path.join(job.dir, 'agent.sock');
  const started = await runAsUser('ssh-agent', ['-a', sock, '-s'], { cwd: job.dir });
  const agentPid = Number(/SSH_AGENT_PID=(\d+)/.exec(started.stdout)?.[1] ?? 0);
  t.teardown(() => killPid(agentPid, 'SIGTERM'));
  t.true(agentPid > 0, started.stderr);
  const add = await runAsUser('ssh-add', [path.join(user.home, '.ssh', 'id_ed25519')], { cwd: job.dir, env: { SSH_AUTH_SOCK: sock } });
  t.is(add.code, 0, add.stderr);
  const r = await cairn(['launch', '--coord-port', '0', '--port-file', job.portFile, '--ckptdir', job.ckpt, '--hosts', 'node3', './prog.sh', '5'], { cwd: job.dir, env: { HOME: home, SSH_AUTH_SOCK: sock }, timeoutMs: 60_000 });
  t.is(r.code, 0, r.stderr);
  t.is(job.out('node3'), expected('node3', 5));
  t.regex(readIf(path.join(home, '.ssh', 'known_hosts')), /^node3 ssh-ed25519 /m, 'the new host key was recorded');
});

// TCP between hosts: a client on node1 and a server on node2 stream checksummed records both
// ways without pause (test/testbed/stream.py), node3 ticks along; interval checkpoints
// every 2 s on all three hosts during the stream; everything killed; the latest generation
// restarted with node1's processes on node3, node2's on node1 and node3's on node2. The
// connection is made again through the coordinator and the stream resumes: no record lost
// or duplicated, each side's checksum that of an uninterrupted run.
test.serial('a TCP stream between two hosts survives interval checkpoints, a kill and a restart on other hosts, byte for byte', async (t) => {
  requireTestbed();
  const n = 16000;
  const job = new HostsJob('tcp');
  t.teardown(() => job.cleanup(t));
  const prog = path.join(job.dir, 'stream.py');
  fs.copyFileSync(path.join(projectRoot(), 'test', 'testbed', 'stream.py'), prog);
  fs.chmodSync(prog, 0o755);
  const want = (tag: string) => execFileSync('python3', [prog, '--expect', String(n), tag], { encoding: 'utf8' }).trim();
  const run = job.launchCmd(['node1', 'node2', 'node3'], ['/usr/bin/python3', prog, String(n)], '--interval', '2');
  await job.members(3);
  await waitFor('two interval checkpoints during the stream', () => job.latest() >= 2, 60_000);
  const s = await job.status();
  t.false(fs.existsSync(path.join(job.dir, 'result.node1')) || fs.existsSync(path.join(job.dir, 'result.node2')), 'checkpointed mid-stream');
  t.is(s.lastError ?? '', '', 'no checkpoint failed');
  const log = readIf(path.join(job.ckpt, 'cairn-coordinator.log'));
  t.notRegex(log, /leaves the job/, 'the connection between hosts is not taken for one to outside');
  job.killAll();
  await run.exited;
  for (const f of ['result.node1', 'result.node2']) fs.rmSync(path.join(job.dir, f), { force: true });
  fs.rmSync(job.portFile, { force: true });
  const r = await cairn(['restart', '--coord-port', '0', '--port-file', job.portFile, '--host-map', 'node1=node3,node2=node1,node3=node2', job.ckpt], { cwd: job.dir, timeoutMs: 180_000 });
  t.is(r.code, 0, r.stderr);
  t.is(readIf(path.join(job.dir, 'result.node1')), `C sent ${n} received ${n} errors 0 sha ${want('S')}\n`, 'the client got every record of the server, once, in order');
  t.is(readIf(path.join(job.dir, 'result.node2')), `S sent ${n} received ${n} errors 0 sha ${want('C')}\n`, 'the server got every record of the client, once, in order');
  t.regex(readIf(path.join(job.ckpt, 'cairn-coordinator.log')) + r.stderr, /TCP connection\(s\) to the job on other hosts made again|joined: host node3/);
});
