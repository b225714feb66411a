// The coordinator, in process, on port 0, with test agents that are real gRPC clients
// speaking the AgentSession protocol: they answer phases, write fake images, fail, stay
// silent, drop their stream or exit, as each test needs.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import protobuf from 'protobufjs';
import { projectRoot } from '../../common/paths.js';
import { cairnProto, channelOptions, secretMetadata } from '../../common/proto.js';
import { startCoordinator, type CoordinatorOptions, type RunningCoordinator } from '../../coordinator/coordinator.js';
import type { AgentMessage } from '../../gen/cairn/v1/AgentMessage.js';
import type { CheckpointReply__Output } from '../../gen/cairn/v1/CheckpointReply.js';
import type { ControlClient } from '../../gen/cairn/v1/Control.js';
import type { CoordinatorMessage__Output } from '../../gen/cairn/v1/CoordinatorMessage.js';
import type { ImageInfo } from '../../gen/cairn/v1/ImageInfo.js';
import type { PhaseCommand__Output } from '../../gen/cairn/v1/PhaseCommand.js';
import type { Register } from '../../gen/cairn/v1/Register.js';
import type { Registered__Output } from '../../gen/cairn/v1/Registered.js';
import type { StatusReply__Output } from '../../gen/cairn/v1/StatusReply.js';
import type { Stop__Output } from '../../gen/cairn/v1/Stop.js';

// The tests give every coordinator its own secret file; an inherited one would mask that.
delete process.env.CAIRN_SECRET;

const FREEZE = ['PRECOPIED', 'SUSPENDED', 'FD_LEADER', 'DRAINED', 'CHECKPOINTED', 'RESUMED', 'WRITTEN'];

// ---------------------------------------------------------------- helpers

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

function tempDir(t: ExecutionContext, name = 'cairn-coord-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), name));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

type PhaseAction = 'ok' | 'silent' | 'drop' | { fail: string } | { exit: number } | { delayMs: number };

interface AgentOptions {
  host?: string;
  agentPid?: number;
  jobId?: string;
  jobName?: string;
  restarted?: boolean;
  generation?: number;
  cwd?: string;
  argv?: string[];
  secret?: string;
  /** Bytes of the fake image each agent writes at WRITTEN (0: no image). */
  imageBytes?: number;
  pauseUs?: number;
  /** On Stop: report the job's exit and end the stream, as a real agent does. */
  obeyStop?: boolean;
  onPhase?: (cmd: PhaseCommand__Output) => PhaseAction | Promise<PhaseAction>;
}

/** A test agent: a real AgentSession client. */
class TestAgent {
  readonly commands: PhaseCommand__Output[] = [];
  readonly stops: Stop__Output[] = [];
  readonly registered: Promise<Registered__Output>;
  /** The call's final status (its code is OK when the coordinator ended the session). */
  readonly status: Promise<grpc.StatusObject>;
  readonly host: string;
  readonly agentPid: number;
  private readonly client: grpc.Client & { Session: (md: grpc.Metadata) => grpc.ClientDuplexStream<AgentMessage, CoordinatorMessage__Output> };
  private readonly call: grpc.ClientDuplexStream<AgentMessage, CoordinatorMessage__Output>;
  private ended = false;

  constructor(
    port: number,
    secret: string,
    private readonly o: AgentOptions = {},
    firstMessage?: AgentMessage,
  ) {
    this.host = o.host ?? 'node1';
    this.agentPid = o.agentPid ?? 4242;
    const Ctor = cairnProto().cairn.v1.AgentSession;
    this.client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), channelOptions) as unknown as typeof this.client;
    this.call = this.client.Session(secretMetadata(o.secret ?? secret));
    this.call.on('error', () => undefined); // the status promise reports it
    this.status = new Promise((resolve) => this.call.on('status', resolve));
    let gotRegistered: (r: Registered__Output) => void;
    this.registered = new Promise((resolve) => (gotRegistered = resolve));
    this.call.on('data', (msg: CoordinatorMessage__Output) => {
      if (msg.registered) gotRegistered(msg.registered);
      if (msg.phase) {
        this.commands.push(msg.phase);
        void this.answer(msg.phase);
      }
      if (msg.stop) {
        this.stops.push(msg.stop);
        if (o.obeyStop) this.exit(msg.stop.kill ? 137 : 0);
      }
    });
    const register: Register = {
      host: this.host,
      agentPid: this.agentPid,
      jobId: o.jobId ?? '',
      jobName: o.jobName ?? '/usr/bin/a.out',
      processes: [{ hostPid: this.agentPid + 1, nsPid: 1, comm: 'a.out' }],
      restarted: o.restarted ?? false,
      generation: o.generation ?? 0,
      argv: o.argv ?? ['/usr/bin/a.out', '--steps', '10'],
      cwd: o.cwd ?? `/home/user/${this.host}`,
    };
    this.send(firstMessage ?? { register });
  }

  phases(): string[] {
    return this.commands.map((c) => c.phase);
  }

  send(msg: AgentMessage): void {
    if (!this.ended) this.call.write(msg);
  }

  private async answer(cmd: PhaseCommand__Output): Promise<void> {
    if (cmd.phase === 'ABORTED') return;
    let action = (await this.o.onPhase?.(cmd)) ?? 'ok';
    if (typeof action === 'object' && 'delayMs' in action) {
      await delay(action.delayMs);
      action = 'ok';
    }
    if (action === 'silent') return;
    if (action === 'drop') return this.drop();
    if (typeof action === 'object' && 'exit' in action) return this.exit(action.exit);
    const base = { checkpointId: cmd.checkpointId, phase: cmd.phase };
    if (typeof action === 'object' && 'fail' in action) {
      this.send({ phaseResult: { ...base, ok: false, error: action.fail } });
      return;
    }
    const images: ImageInfo[] = [];
    if (cmd.phase === 'WRITTEN' && (this.o.imageBytes ?? 1000) > 0) {
      const file = `${this.host}-${this.agentPid}.img`;
      const bytes = this.o.imageBytes ?? 1000;
      fs.writeFileSync(path.join(cmd.genDir, file), Buffer.alloc(bytes, 7));
      images.push({ file, nsPid: 1, comm: 'a.out', bytes: String(bytes), metaCrc32c: 1234 });
    }
    const pauseUs = cmd.phase === 'RESUMED' ? String(this.o.pauseUs ?? 500) : '0';
    this.send({ phaseResult: { ...base, ok: true, images, pauseUs } });
  }

  /** The job ended: report it and leave. */
  exit(status: number): void {
    this.send({ jobExited: { status } });
    this.close();
  }

  /** Lose the stream abruptly, as when the agent is killed. */
  drop(): void {
    this.ended = true;
    this.call.cancel();
    this.client.close();
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.call.end();
    this.client.close();
  }
}

type Ctl = {
  checkpoint(wait?: boolean): Promise<CheckpointReply__Output>;
  status(): Promise<StatusReply__Output>;
  kill(): Promise<number>;
  quit(): Promise<void>;
  raw: ControlClient;
};

function control(port: number, secret: string | undefined): Ctl {
  const Ctor = cairnProto().cairn.v1.Control;
  const raw = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), channelOptions);
  const md = () => (secret === undefined ? new grpc.Metadata() : secretMetadata(secret));
  const call = <T>(fn: (cb: (err: grpc.ServiceError | null, v?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));
  return {
    raw,
    checkpoint: (wait = true) => call((cb) => raw.Checkpoint({ wait }, md(), cb)),
    status: () => call((cb) => raw.Status({}, md(), cb)),
    kill: () => call<{ members: number }>((cb) => raw.Kill({}, md(), cb)).then((r) => r.members),
    quit: () => call((cb) => raw.Quit({}, md(), cb)).then(() => undefined),
  };
}

interface Rig {
  coord: RunningCoordinator;
  ckptDir: string;
  dir: string;
  logs: string[];
  ctl: Ctl;
  agent(o?: AgentOptions): TestAgent;
  /** Register agents and wait until each is admitted. */
  agents(...o: AgentOptions[]): Promise<TestAgent[]>;
  jobDir(): Promise<string>;
}

async function rig(t: ExecutionContext, over: Partial<CoordinatorOptions> = {}, ckptName = 'ckpt'): Promise<Rig> {
  const dir = tempDir(t);
  const ckptDir = path.join(dir, ckptName);
  const logs: string[] = [];
  const coord = await startCoordinator({
    port: 0,
    host: '127.0.0.1',
    ckptDir,
    intervalS: 0,
    exitOnLast: false,
    keep: 2,
    phaseTimeoutS: 5,
    writeTimeoutS: 10,
    cairnBin: path.join(dir, 'no-such-cairn'),
    log: (l) => logs.push(l),
    ...over,
  });
  const clients: Array<TestAgent | Ctl> = [];
  t.teardown(async () => {
    for (const c of clients) {
      if (c instanceof TestAgent) c.close();
      else c.raw.close();
    }
    await coord.close();
  });
  const ctl = control(coord.port, coord.secret);
  clients.push(ctl);
  const agent = (o: AgentOptions = {}) => {
    const a = new TestAgent(coord.port, coord.secret, o);
    clients.push(a);
    return a;
  };
  let firstJobDir: string | undefined;
  return {
    coord,
    ckptDir,
    dir,
    logs,
    ctl,
    agent,
    async agents(...os) {
      const list = os.map((o) => agent(o));
      const regs = await Promise.all(list.map((a) => a.registered));
      firstJobDir ??= regs[0]?.ckptDir;
      return list;
    },
    async jobDir() {
      return firstJobDir ?? (await ctl.status()).ckptDir;
    },
  };
}

const TWO = [{ host: 'node1', agentPid: 4242, pauseUs: 700 }, { host: 'node2', agentPid: 4343, pauseUs: 900, imageBytes: 3000 }];

function loadManifest(file: string): Record<string, unknown> {
  const type = protobuf.loadSync(path.join(projectRoot(), 'protos', 'manifest.proto')).lookupType('cairn.v1.Manifest');
  return type.toObject(type.decode(fs.readFileSync(file)), { longs: String, defaults: true });
}

const mode = (p: string) => fs.statSync(p).mode & 0o777;
const entries = (d: string) => fs.readdirSync(d).sort();

// ---------------------------------------------------------------- secret

test('every call needs the job secret', async (t) => {
  const r = await rig(t);
  const secretFile = path.join(r.ckptDir, '.cairn-secret');
  t.is(fs.readFileSync(secretFile, 'utf8').trim(), r.coord.secret);
  t.is(mode(secretFile), 0o600);

  for (const secret of [undefined, 'ab'.repeat(32), r.coord.secret + 'x']) {
    const ctl = control(r.coord.port, secret);
    const err = await t.throwsAsync(ctl.status());
    ctl.raw.close();
    t.is((err as grpc.ServiceError).code, grpc.status.UNAUTHENTICATED);
    t.is((err as grpc.ServiceError).details, 'wrong or missing job secret');
  }
  const intruder = new TestAgent(r.coord.port, r.coord.secret, { secret: 'cd'.repeat(32) });
  const st = await intruder.status;
  intruder.close();
  t.is(st.code, grpc.status.UNAUTHENTICATED);
  t.is(st.details, 'wrong or missing job secret');

  const ok = await r.ctl.status();
  t.is(ok.jobId, '', 'the intruder did not create a job');
  t.is(ok.port, r.coord.port);
});

test.serial('the secret comes from CAIRN_SECRET, else from the checkpoint directory', async (t) => {
  const dir = tempDir(t);
  const base = { port: 0, host: '127.0.0.1', ckptDir: dir, intervalS: 0, exitOnLast: false, keep: 2, phaseTimeoutS: 5, writeTimeoutS: 5, cairnBin: 'cairn', log: () => undefined };
  const first = await startCoordinator(base);
  await first.close();
  const second = await startCoordinator(base);
  await second.close();
  t.is(second.secret, first.secret, 'a coordinator on the same --ckptdir reuses the secret file');
  process.env.CAIRN_SECRET = 'fe'.repeat(20);
  try {
    const third = await startCoordinator(base);
    await third.close();
    t.is(third.secret, 'fe'.repeat(20));
  } finally {
    delete process.env.CAIRN_SECRET;
  }
});

test('the first message of a session must be Register', async (t) => {
  const r = await rig(t);
  const a = new TestAgent(r.coord.port, r.coord.secret, {}, { heartbeat: { processes: [] } });
  const st = await a.status;
  a.close();
  t.is(st.code, grpc.status.FAILED_PRECONDITION);
  t.regex(st.details, /Register/);
});

// ---------------------------------------------------------------- checkpoints

test('a checkpoint commits gen-000001 with manifest, latest and a restart script', async (t) => {
  // A checkpoint directory whose name needs quoting in sh.
  const r0 = await rig(t, {}, `ck pt's "dir" $HOME`);
  const { ckptDir, dir } = r0;
  // The rig's cairnBin does not exist; a second coordinator with a real one and a port file:
  await r0.coord.close();
  const fakeCairn = path.join(dir, 'fake cairn');
  fs.writeFileSync(fakeCairn, '#!/bin/sh\necho "from cairnBin"\nfor a in "$@"; do printf "%s\\n" "$a"; done\n', { mode: 0o755 });
  const portFile = path.join(dir, 'port.txt');
  const r = await rig(t, { ckptDir, cairnBin: fakeCairn, portFile, intervalS: 0 });
  t.is(fs.readFileSync(portFile, 'utf8'), `${r.coord.port}\n`);

  const [a, b] = await r.agents(...TWO);
  const jobDir = await r.jobDir();
  t.regex(path.basename(jobDir), /^a\.out-[0-9a-f]{6}$/);
  t.is(path.dirname(jobDir), ckptDir);
  t.is(mode(jobDir), 0o700);

  const reply = await r.ctl.checkpoint(true);
  t.true(reply.ok, reply.error);
  t.is(reply.generation, 1);
  t.is(reply.genDir, path.join(jobDir, 'gen-000001'));
  t.is(reply.bytes, '4000');
  t.is(reply.pauseUs, '900');
  t.true(Number(reply.durationUs) > 0);

  for (const ag of [a!, b!]) {
    t.deepEqual(ag.phases(), FREEZE);
    t.is(new Set(ag.commands.map((c) => c.checkpointId)).size, 1);
    const ck = ag.commands.find((c) => c.phase === 'CHECKPOINTED')!;
    t.is(ck.genDir, path.join(jobDir, '.gen-000001.partial'));
    t.is(ck.generation, 1);
  }

  const gen = path.join(jobDir, 'gen-000001');
  t.deepEqual(entries(jobDir), ['gen-000001', 'latest']);
  t.is(fs.readlinkSync(path.join(jobDir, 'latest')), 'gen-000001');
  t.deepEqual(entries(gen), ['manifest.json', 'manifest.pb', 'node1-4242.img', 'node2-4343.img']);
  t.is(mode(path.join(gen, 'manifest.pb')), 0o600);
  t.is(mode(path.join(gen, 'manifest.json')), 0o600);

  const m = loadManifest(path.join(gen, 'manifest.pb')) as any;
  t.is(m.formatVersion, 1);
  t.is(m.jobId, path.basename(jobDir));
  t.is(m.generation, 1);
  t.is(m.coordPort, 0);
  t.deepEqual(m.argv, ['/usr/bin/a.out', '--steps', '10']);
  t.deepEqual(
    m.hosts.map((h: any) => [h.host, h.cwd, h.images.map((i: any) => [i.file, i.bytes])]),
    [
      ['node1', '/home/user/node1', [['node1-4242.img', '1000']]],
      ['node2', '/home/user/node2', [['node2-4343.img', '3000']]],
    ],
  );
  const json = JSON.parse(fs.readFileSync(path.join(gen, 'manifest.json'), 'utf8'));
  t.is(json.jobId, m.jobId);
  t.is(json.hosts[1].images[0].bytes, '3000');

  const script = path.join(ckptDir, 'cairn_restart.sh');
  t.is(mode(script), 0o700);
  execFileSync('sh', ['-n', script]);
  const text = fs.readFileSync(script, 'utf8');
  t.regex(text, /^#!\/bin\/sh\n/);
  t.regex(text, /generation: 1 \(gen-000001\)/);
  t.regex(text, /host_1='node1'/);
  t.regex(text, /host_2='node2'/);

  // Run from elsewhere: cairnBin exists, so it is the command; arguments go through intact.
  const elsewhere = fs.mkdtempSync(path.join(dir, 'cwd-'));
  const out = execFileSync('sh', [script, '--extra', 'a b'], { cwd: elsewhere, encoding: 'utf8', env: { ...process.env, CAIRN: '' } });
  t.deepEqual(out.trimEnd().split('\n'), [
    'from cairnBin', 'restart', '--coord-port', '0', '--port-file', portFile, '--interval', '0', '--ckptdir', ckptDir,
    // Two hosts: the host table goes to cairn restart as --host-map.
    '--host-map', 'node1=node1,node2=node2', '--extra', 'a b', jobDir,
  ]);
  // CAIRN overrides it.
  const other = path.join(dir, 'other-cairn');
  fs.writeFileSync(other, '#!/bin/sh\necho "from CAIRN $1"\n', { mode: 0o755 });
  t.is(execFileSync('sh', [script], { cwd: elsewhere, encoding: 'utf8', env: { ...process.env, CAIRN: other } }), 'from CAIRN restart\n');

  const st = await r.ctl.status();
  t.is(st.lastGeneration, 1);
  t.false(st.checkpointInProgress);
  t.is(st.lastError, '');
});

test('the restart script falls back to cairn on PATH when cairnBin is missing', async (t) => {
  const r = await rig(t, { intervalS: 3600 });
  await r.agents({});
  t.true((await r.ctl.checkpoint()).ok);
  const bin = tempDir(t);
  fs.writeFileSync(path.join(bin, 'cairn'), '#!/bin/sh\necho "path cairn $*"\n', { mode: 0o755 });
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  delete env.CAIRN;
  const out = execFileSync('sh', [path.join(r.ckptDir, 'cairn_restart.sh')], { cwd: bin, encoding: 'utf8', env });
  t.is(out, `path cairn restart --coord-port 0 --interval 3600 --ckptdir ${r.ckptDir} ${await r.jobDir()}\n`);
});

test('generations are numbered on, and only the newest `keep` are kept', async (t) => {
  const r = await rig(t, { keep: 2 });
  await r.agents(...TWO);
  const jobDir = await r.jobDir();
  for (const n of [1, 2]) t.is((await r.ctl.checkpoint()).generation, n);
  t.deepEqual(entries(jobDir), ['gen-000001', 'gen-000002', 'latest']);
  const third = await r.ctl.checkpoint();
  t.true(third.ok);
  t.is(third.generation, 3);
  t.deepEqual(entries(jobDir), ['gen-000002', 'gen-000003', 'latest']);
  t.is(fs.readlinkSync(path.join(jobDir, 'latest')), 'gen-000003');
  t.is((await r.ctl.status()).lastGeneration, 3);
});

test('checkpoint requests during a checkpoint join it; wait=false answers at once', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((res) => (release = res));
  const r = await rig(t);
  await r.agents({ onPhase: async (c): Promise<PhaseAction> => (c.phase === 'SUSPENDED' ? (await gate, 'ok') : 'ok') }, TWO[1]!);
  const started = await r.ctl.checkpoint(false);
  t.true(started.ok);
  t.is(started.generation, 1);
  t.is(started.genDir, path.join(await r.jobDir(), 'gen-000001'));
  t.true((await r.ctl.status()).checkpointInProgress);
  const joined = r.ctl.checkpoint(true);
  const again = await r.ctl.checkpoint(false);
  t.is(again.generation, 1, 'no second checkpoint starts while one runs');
  release();
  const done = await joined;
  t.true(done.ok, done.error);
  t.is(done.generation, 1);
  t.deepEqual(entries(await r.jobDir()), ['gen-000001', 'latest']);
});

test('without a job there is nothing to checkpoint', async (t) => {
  const r = await rig(t);
  const reply = await r.ctl.checkpoint(true);
  t.false(reply.ok);
  t.is(reply.error, 'no job is running: start one with cairn launch');
  t.false((await r.ctl.checkpoint(false)).ok);
});

// ---------------------------------------------------------------- aborts

/** After a good gen-000001, a second checkpoint that must abort: check it left no trace. */
async function abortedSecond(t: ExecutionContext, r: Rig, agents: TestAgent[], expected: string | RegExp): Promise<CheckpointReply__Output> {
  const jobDir = await r.jobDir();
  const reply = await r.ctl.checkpoint(true);
  t.false(reply.ok);
  if (typeof expected === 'string') t.is(reply.error, expected);
  else t.regex(reply.error, expected);
  t.false(reply.error.includes('\n'));
  t.deepEqual(entries(jobDir), ['gen-000001', 'latest'], 'the partial generation is gone');
  t.is(fs.readlinkSync(path.join(jobDir, 'latest')), 'gen-000001');
  const st = await r.ctl.status();
  t.is(st.lastError, reply.error);
  t.is(st.lastGeneration, 1);
  t.false(st.checkpointInProgress);
  // Every member still reachable is told to thaw.
  for (const a of agents) await until(`ABORTED at ${a.host}`, () => a.phases().at(-1) === 'ABORTED');
  return reply;
}

test('a failed phase aborts the checkpoint and keeps the previous generation', async (t) => {
  let failNext = false;
  const r = await rig(t);
  const agents = await r.agents(TWO[0]!, { ...TWO[1]!, onPhase: (c) => (failNext && c.phase === 'DRAINED' ? { fail: 'process 2 (prog) exited\nmore' } : 'ok') });
  t.true((await r.ctl.checkpoint()).ok);
  failNext = true;
  await abortedSecond(t, r, agents, 'checkpoint aborted in DRAINED: host node2 pid 4343: process 2 (prog) exited');
  t.deepEqual(agents[0]!.phases().slice(FREEZE.length), ['PRECOPIED', 'SUSPENDED', 'FD_LEADER', 'DRAINED', 'ABORTED']);
  // The job runs on, and the next checkpoint takes the number the aborted one had.
  failNext = false;
  const next = await r.ctl.checkpoint();
  t.true(next.ok, next.error);
  t.is(next.generation, 2);
  t.is((await r.ctl.status()).lastError, '');
});

test('a phase that gets no answer times out, naming the phase and the silent members', async (t) => {
  let silent = false;
  const r = await rig(t, { phaseTimeoutS: 0.3 });
  const agents = await r.agents(TWO[0]!, { ...TWO[1]!, onPhase: (c) => (silent && c.phase === 'FD_LEADER' ? { delayMs: 600 } : 'ok') });
  t.true((await r.ctl.checkpoint()).ok);
  silent = true;
  const t0 = Date.now();
  await abortedSecond(t, r, agents, 'checkpoint aborted in FD_LEADER: no answer within 0.3 s from host node2 pid 4343');
  t.true(Date.now() - t0 < 3000);
  // Its late answer arrives after the abort and is ignored.
  await until('the late answer', () => r.logs.some((l) => /ignored FD_LEADER result/.test(l)));
  t.true((await r.ctl.status()).running);
});

test('CHECKPOINTED and WRITTEN have their own (longer) timeout for writing images', async (t) => {
  const r = await rig(t, { phaseTimeoutS: 0.2, writeTimeoutS: 5 });
  await r.agents({ onPhase: (c) => (c.phase === 'CHECKPOINTED' || c.phase === 'WRITTEN' ? { delayMs: 500 } : 'ok') });
  const reply = await r.ctl.checkpoint();
  t.true(reply.ok, reply.error);
});

test('a member whose stream drops mid-checkpoint aborts it', async (t) => {
  let drop = false;
  const r = await rig(t);
  const agents = await r.agents(TWO[0]!, { ...TWO[1]!, onPhase: (c) => (drop && c.phase === 'DRAINED' ? 'drop' : 'ok') });
  t.true((await r.ctl.checkpoint()).ok);
  drop = true;
  await abortedSecond(t, r, [agents[0]!], 'checkpoint aborted in DRAINED: host node2 pid 4343: agent disconnected');
  const st = await r.ctl.status();
  t.deepEqual(st.member.map((m) => [m.memberId, m.host, m.state]), [[1, 'node1', 'running'], [2, 'node2', 'disconnected']]);
  t.is(st.members, 1);
  t.true(st.running);
  t.true(r.logs.some((l) => /member 2 \(host node2 pid 4343\): agent disconnected while its job was running/.test(l)));
});

test('a job exiting mid-checkpoint aborts it', async (t) => {
  let exit = false;
  const r = await rig(t);
  const agents = await r.agents(TWO[0]!, { ...TWO[1]!, onPhase: (c) => (exit && c.phase === 'SUSPENDED' ? { exit: 3 } : 'ok') });
  t.true((await r.ctl.checkpoint()).ok);
  exit = true;
  await abortedSecond(t, r, [agents[0]!], 'checkpoint aborted in SUSPENDED: host node2 pid 4343: job exited with status 3');
  t.is((await r.ctl.status()).member[1]!.state, 'exited (status 3)');
});

test('a member joining during a checkpoint aborts it', async (t) => {
  let joined = false;
  let release!: () => void;
  const gate = new Promise<void>((res) => (release = res));
  const r = await rig(t);
  const first = await r.agents({ onPhase: async (c): Promise<PhaseAction> => (joined && c.phase === 'FD_LEADER' ? (await gate, 'ok') : 'ok') });
  t.true((await r.ctl.checkpoint()).ok);
  joined = true;
  const pending = r.ctl.checkpoint(true);
  await until('FD_LEADER', () => first[0]!.phases().at(-1) === 'FD_LEADER');
  await r.agents({ host: 'node3', agentPid: 99 });
  release();
  const reply = await pending;
  t.is(reply.error, 'checkpoint aborted in FD_LEADER: host node3 pid 99 joined the job during the checkpoint');
  t.deepEqual(entries(await r.jobDir()), ['gen-000001', 'latest']);
});

// ---------------------------------------------------------------- interval, exit, restart

test('interval checkpoints happen, counted from the end of the previous one', async (t) => {
  const r = await rig(t, { intervalS: 0.2 });
  await r.agents(...TWO);
  const t0 = Date.now();
  await until('two interval checkpoints', async () => (await r.ctl.status()).lastGeneration >= 2);
  t.true(Date.now() - t0 >= 380, 'not before two intervals have passed');
  t.is((await r.ctl.status()).intervalS, 0);
});

test('interval checkpoint failures are kept in lastError and the job runs on', async (t) => {
  const r = await rig(t, { intervalS: 0.1 });
  await r.agents({ onPhase: (c) => (c.phase === 'SUSPENDED' ? { fail: 'cannot freeze process 7 (x)' } : 'ok') });
  const st = await until('a failed interval checkpoint', async () => {
    const s = await r.ctl.status();
    return s.lastError ? s : undefined;
  });
  t.is(st.lastError, 'checkpoint aborted in SUSPENDED: host node1 pid 4242: cannot freeze process 7 (x)');
  t.true(st.running);
  // The next interval attempt may already be under way (its .partial): nothing was committed.
  t.deepEqual(entries(await r.jobDir()).filter((e) => !e.endsWith('.partial')), []);
});

test('with exitOnLast the coordinator shuts down when every member has left', async (t) => {
  const r = await rig(t, { exitOnLast: true });
  const [a, b] = await r.agents(...TWO);
  a!.exit(0);
  await until('member 1 exited', async () => (await r.ctl.status()).member[0]!.state === 'exited (status 0)');
  let done = false;
  void r.coord.done.then(() => (done = true));
  await delay(50);
  t.false(done, 'one member is still there');
  b!.drop();
  await r.coord.done;
  t.true(r.logs.some((l) => /shutting down: every member has left/.test(l)));
});

test('without exitOnLast the coordinator outlives its job', async (t) => {
  const r = await rig(t);
  const [a] = await r.agents({});
  a!.exit(1);
  const st = await until('member left', async () => {
    const s = await r.ctl.status();
    return s.running ? undefined : s;
  });
  t.is(st.members, 0);
  t.is((await r.ctl.checkpoint()).error, 'no job is running: start one with cairn launch');
});

test('a restarted job keeps its id and continues the numbering; other jobs are refused', async (t) => {
  const dir = tempDir(t);
  const ckptDir = path.join(dir, 'ckpt');
  const jobDir = path.join(ckptDir, 'sim-abc123');
  for (const g of ['gen-000004', 'gen-000007', '.gen-000008.partial']) fs.mkdirSync(path.join(jobDir, g), { recursive: true });
  fs.writeFileSync(path.join(jobDir, '.gen-000008.partial', 'half.img'), 'x');
  fs.symlinkSync('gen-000007', path.join(jobDir, 'latest'));
  const r = await rig(t, { ckptDir });
  const [a] = await r.agents({ jobId: 'sim-abc123', restarted: true, generation: 7 });
  const reg = await a!.registered;
  t.is(reg.jobId, 'sim-abc123');
  t.is(reg.ckptDir, jobDir);
  t.is(reg.memberId, 1);
  t.deepEqual(entries(jobDir), ['gen-000004', 'gen-000007', 'latest'], 'the stale partial generation is removed');
  t.is((await r.ctl.status()).lastGeneration, 7);

  // Another member of the same job (no id: it joins), then a foreign job.
  const [b] = await r.agents({ host: 'node2', agentPid: 55 });
  t.is((await b!.registered).jobId, 'sim-abc123');
  const foreign = r.agent({ jobId: 'other-000000' });
  const st = await foreign.status;
  t.is(st.code, grpc.status.FAILED_PRECONDITION);
  t.true(st.details.includes('sim-abc123') && st.details.includes('other-000000'), st.details);
  const bad = r.agent({ jobId: '../etc' });
  t.is((await bad.status).code, grpc.status.INVALID_ARGUMENT);

  const reply = await r.ctl.checkpoint();
  t.true(reply.ok, reply.error);
  t.is(reply.generation, 8);
  t.deepEqual(entries(jobDir), ['gen-000007', 'gen-000008', 'latest']);
});

test('after a restart on several hosts no checkpoint starts until every host of the generation is back', async (t) => {
  // Generation 1 of a job on two hosts...
  const first = await rig(t);
  await first.agents(...TWO);
  const made = await first.ctl.checkpoint();
  t.true(made.ok, made.error);
  const jobDir = await first.jobDir();
  const jobId = path.basename(jobDir);
  // ...restarted under a new coordinator: node1's agent is back, node2's still restoring.
  const r = await rig(t, { ckptDir: path.dirname(jobDir) });
  const [a] = await r.agents({ jobId, restarted: true, generation: 1, host: 'node1' });
  await a!.registered;
  const early = await r.ctl.checkpoint();
  t.false(early.ok);
  t.is(early.error, 'the job is still being restored: 1 of the 2 hosts of generation 1 are back');
  const [b] = await r.agents({ jobId, restarted: true, generation: 1, host: 'node2', agentPid: 77 });
  await b!.registered;
  const whole = await r.ctl.checkpoint();
  t.true(whole.ok, whole.error);
  t.is(whole.generation, 2);
});

test('a new job is named after its program', async (t) => {
  const r = await rig(t);
  const [a] = await r.agents({ jobName: '/opt/my prog!/run sim.x' });
  t.regex((await a!.registered).jobId, /^run_sim\.x-[0-9a-f]{6}$/);
});

// ---------------------------------------------------------------- status, kill, quit

test('Status reports the job and its members', async (t) => {
  const r = await rig(t, { intervalS: 30 });
  const [a] = await r.agents(...TWO);
  a!.send({ heartbeat: { processes: [{ hostPid: 10, nsPid: 1, comm: 'a.out' }, { hostPid: 11, nsPid: 2, comm: 'worker' }] } });
  const st = await until('the heartbeat', async () => {
    const s = await r.ctl.status();
    return s.member[0]?.processes.length === 2 ? s : undefined;
  });
  t.is(st.jobId, path.basename(await r.jobDir()));
  t.is(st.ckptDir, await r.jobDir());
  t.is(st.members, 2);
  t.true(st.running);
  t.is(st.lastGeneration, 0);
  t.is(st.lastError, '');
  t.is(st.intervalS, 30);
  t.false(st.checkpointInProgress);
  t.is(st.coordinatorPid, process.pid);
  t.is(st.port, r.coord.port);
  t.deepEqual(
    st.member.map((m) => [m.memberId, m.host, m.agentPid, m.state, m.processes.map((p) => p.comm)]),
    [
      [1, 'node1', 4242, 'running', ['a.out', 'worker']],
      [2, 'node2', 4343, 'running', ['a.out']],
    ],
  );
});

test('Kill stops every member', async (t) => {
  const r = await rig(t);
  const [a, b] = await r.agents(...TWO);
  t.is(await r.ctl.kill(), 2);
  for (const ag of [a!, b!]) {
    await until('Stop', () => ag.stops.length === 1);
    t.true(ag.stops[0]!.kill);
  }
});

test('Quit kills the job and shuts the coordinator down', async (t) => {
  const r = await rig(t);
  const [a, b] = await r.agents({ ...TWO[0]!, obeyStop: true }, { ...TWO[1]!, obeyStop: true });
  const t0 = Date.now();
  await r.ctl.quit();
  await r.coord.done;
  t.true(Date.now() - t0 < 1500, 'members that leave at once do not make it wait');
  t.true(a!.stops[0]!.kill && b!.stops[0]!.kill);
  t.is((await a!.status).code, grpc.status.OK);
  const late = control(r.coord.port, r.coord.secret);
  await t.throwsAsync(late.status());
  late.raw.close();
});

test('Quit does not wait forever for members that do not leave', async (t) => {
  const r = await rig(t);
  const [a] = await r.agents({});
  const t0 = Date.now();
  await r.ctl.quit();
  await r.coord.done;
  const took = Date.now() - t0;
  t.true(took >= 1900 && took < 6000, `took ${took} ms`);
  t.true(a!.stops[0]!.kill);
});
