// What cannot be checkpointed is refused at checkpoint time in one line naming the process
// (pid and comm) and the object, with a hint, and costs the job nothing: it keeps running
// and finishes normally, and no generation is written. One case per refusal: a process
// traced by a debugger, an open device, an executable the user cannot read, a UNIX
// socket connected outside the job.
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Background, readIf, spawnAsUser, waitFor } from '../helpers/cairn.js';
import { oneLineError } from '../helpers/damage.js';
import { TestJob, type StatusJson } from '../helpers/job.js';
import { program } from '../helpers/programs.js';

const STEPS = 80; // counter: 80 steps of 100 ms, long enough to be refused while it runs
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Launches argv (which ends up running counter as the job's one process) and waits for output. */
async function started(job: TestJob, argv: string[]): Promise<StatusJson> {
  job.launch(argv);
  const s = await job.running();
  await waitFor('the job to write', () => readIf(path.join(job.work, 'out.txt')).includes('step 1 '), 10_000);
  return s;
}

/** The checkpoint is refused as `pattern` says; the job is unharmed and goes on to its end. */
async function refusedThenFinishes(t: ExecutionContext, job: TestJob, s: StatusJson, pattern: RegExp, between?: () => Promise<void>): Promise<void> {
  const r = await job.command('--bcheckpoint');
  oneLineError(t, r, pattern, { hint: true });
  t.is(job.latestGeneration(s.ckptDir), 0, 'no generation was written');
  t.deepEqual(fs.readdirSync(s.ckptDir).filter((d) => d.startsWith('gen-')), [], 'nothing left of the refused checkpoint');
  const out = path.join(job.work, 'out.txt');
  const n = readIf(out).length;
  await waitFor('the job to go on after the refusal', () => readIf(out).length > n, 5000);
  if (between) await between();
  const end = await job.launcher!.exited;
  t.is(end.code, 0, `the job ends normally: ${end.stderr}`);
  const lines = readIf(out).trim().split('\n');
  t.is(lines.length, STEPS + 1, 'every step once, then done');
  t.regex(lines.at(-1) ?? '', /^done pid \d+$/);
}

test('a process traced by a debugger is refused, naming the tracer', async (t) => {
  const job = new TestJob('refuse-traced');
  t.teardown(() => job.cleanup());
  const s = await started(job, [program('counter'), 'out.txt', String(STEPS), '100']);
  const pid = s.member[0]!.processes[0]!.hostPid;
  const tracer = new Background(spawnAsUser(program('tracer'), [String(pid)], { cwd: job.work }));
  t.teardown(() => tracer.stop());
  await waitFor('the tracer to attach', () => tracer.stdout.includes(`tracing ${pid}`) || tracer.child.exitCode !== null, 10_000);
  t.regex(tracer.stdout, /tracing/, `tracer: ${tracer.stderr}`);
  await refusedThenFinishes(t, job, s, new RegExp(`pid ${pid} \\(counter\\): cannot be checkpointed: it is already traced by pid ${tracer.pid} \\(tracer\\)`), async () => {
    // Once the debugger is gone the same job checkpoints: the tracer was the only obstacle.
    await tracer.stop();
    await waitFor('the tracer to be gone', () => /TracerPid:\s+0\n/.test(readIf(`/proc/${pid}/status`)), 5000);
    const ok = await job.command('--bcheckpoint');
    t.is(ok.code, 0, ok.stderr);
    t.is(job.latestGeneration(s.ckptDir), 1);
  });
});

// No character device any user may open holds state cairn cannot save (ptys are saved): the
// refusal shown here is the one left for terminals, a pseudo-terminal made in the job that is
// a process's controlling terminal (util-linux script gives its shell one).
test('a pseudo-terminal made in the job as a controlling terminal is refused, naming the process and the terminal', async (t) => {
  const job = new TestJob('refuse-ctty');
  t.teardown(() => job.cleanup());
  job.launch(['/usr/bin/script', '-q', '-c', `exec ${program('counter')} out.txt ${STEPS} 100`, '/dev/null']);
  const s = await job.running();
  await waitFor('the job to write', () => readIf(path.join(job.work, 'out.txt')).includes('step 1 '), 10_000);
  await refusedThenFinishes(t, job, s, /pid \d+ \(counter\): its controlling terminal is \/dev\/pts\/\d+, a pseudo-terminal made in the job: not supported yet/);
});


test('a netlink socket is refused, naming the descriptor', async (t) => {
  const job = new TestJob('refuse-netlink');
  t.teardown(() => job.cleanup());
  const py = `import socket, os, sys; s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0); os.dup2(s.fileno(), 3) if s.fileno() != 3 else os.set_inheritable(3, True); os.execv(sys.argv[1], sys.argv[1:])`;
  const s = await started(job, ['/usr/bin/python3', '-c', py, program('counter'), 'out.txt', String(STEPS), '100']);
  const pid = s.member[0]!.processes[0]!.hostPid;
  await refusedThenFinishes(t, job, s, new RegExp(`pid ${pid} \\(counter\\): fd 3 is socket:\\[\\d+\\]: a netlink socket is not supported`));
});

// Only root can make a file the test user may run but not read (the user's own 0111 file is
// one his job's user namespace has privilege over, and stays traceable).
(process.getuid!() === 0 ? test : test.skip)('a process running an executable the user cannot read is refused, naming the executable', async (t) => {
  const job = new TestJob('refuse-unreadable');
  t.teardown(() => job.cleanup());
  const hidden = path.join(job.root, 'hidden');
  fs.copyFileSync(program('counter'), hidden);
  fs.chownSync(hidden, 0, 0);
  fs.chmodSync(hidden, 0o711);
  // Launching it is refused up front; a job can still exec it later, as here.
  const s = await started(job, ['sh', '-c', `exec ${hidden} out.txt ${STEPS} 100`]);
  const pid = s.member[0]!.processes[0]!.hostPid;
  await refusedThenFinishes(t, job, s, new RegExp(`pid ${pid} \\(hidden\\): cannot be checkpointed: its executable ${esc(hidden)} is not readable by you`));
});

// A connection made to one of the job's own listeners and not accepted yet lives in the
// listener's backlog. It is made again at restart (conformance unix_backlog, tcp_backlog),
// but not the bytes its client sent already, which nothing can read there before accept().
// Refused, not lost.
for (const kind of ['UNIX', 'TCP'] as const) {
  test(`a ${kind} connection waiting in the backlog of the job's own listener with bytes sent is refused, naming it`, async (t) => {
    const job = new TestJob(`refuse-backlog-${kind.toLowerCase()}`);
    t.teardown(() => job.cleanup());
    const setup =
      kind === 'UNIX'
        ? `l = socket.socket(socket.AF_UNIX); l.bind('l.sock'); l.listen(4); c = socket.socket(socket.AF_UNIX); c.connect('l.sock'); c.send(b'early')`
        : `l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(4); c = socket.socket(); c.connect(l.getsockname()); c.send(b'early')`;
    // copies first: the sockets themselves may already be fds 3 and 4, close-on-exec
    const py = `import socket, os, sys; ${setup}; a, b = os.dup(l.fileno()), os.dup(c.fileno()); os.dup2(a, 3); os.dup2(b, 4); os.execv(sys.argv[1], sys.argv[1:])`;
    const s = await started(job, ['/usr/bin/python3', '-c', py, program('counter'), 'out.txt', String(STEPS), '100']);
    const pid = s.member[0]!.processes[0]!.hostPid;
    const why = kind === 'UNIX' ? 'a UNIX stream connection to l\\.sock, not accepted yet, has sent \\d+ bytes \\(with overhead\\) the listener cannot be read for: not supported' : "a TCP connection to 127\\.0\\.0\\.1:\\d+, not accepted yet by the job's listener, has sent \\d+ bytes that cannot be read before it is accepted: not supported";
    await refusedThenFinishes(t, job, s, new RegExp(`pid ${pid} \\(counter\\): fd 4 is socket:\\[\\d+\\]: ${why}`));
  });
}
