// Real runtimes no one here wrote (python3 with numpy, perl, bash, a JVM, Go, node and a
// static C binary) are checkpointed mid-run, killed, restarted with cairn_restart.sh, and
// must finish with the same output as an uninterrupted run under cairn.
// The programs (test/programs/steps.*, Steps.java) append one deterministic line per step
// to out.txt and sleep between steps. Interpreters are Debian's, from /usr/bin
// (scripts/setup-debian.sh installs them).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../common/paths.js';
import { readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { program } from '../helpers/programs.js';
import { testUser } from '../helpers/user.js';
import { uninterruptedOutput } from './reference.js';

const STEPS = '40';
const STEP_MS = '100';

// Scripts and binaries built at test time, in a directory the test user can read.
let binDir = '';
test.before(() => {
  binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-runtimes-'));
  fs.chmodSync(binDir, 0o755);
  for (const f of ['steps.py', 'steps.pl', 'steps.sh', 'steps.js', 'steps.go', 'Steps.java']) {
    fs.copyFileSync(path.join(projectRoot(), 'test', 'programs', f), path.join(binDir, f));
    fs.chmodSync(path.join(binDir, f), 0o644);
  }
});
test.after.always(() => {
  if (binDir) fs.rmSync(binDir, { recursive: true, force: true });
});

function need(file: string, pkg: string): string {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: install ${pkg} (scripts/setup-debian.sh)`);
  return file;
}

/** Builds steps.go into a static binary (CGO_ENABLED=0), with Go's caches in binDir. */
function goProgram(): string {
  const out = path.join(binDir, 'steps-go');
  const env = { PATH: '/usr/bin:/bin', HOME: binDir, GOCACHE: path.join(binDir, 'gocache'), GOPATH: path.join(binDir, 'gopath'), CGO_ENABLED: '0' };
  execFileSync(need('/usr/bin/go', 'golang-go'), ['build', '-o', out, 'steps.go'], { cwd: binDir, env, stdio: 'inherit' });
  fs.chmodSync(out, 0o755);
  return out;
}

/** Compiles Steps.java into binDir/classes. */
function javaClasses(): string {
  const classes = path.join(binDir, 'classes');
  execFileSync(need('/usr/bin/javac', 'openjdk-17-jdk-headless'), ['-d', classes, path.join(binDir, 'Steps.java')], { stdio: 'inherit' });
  execFileSync('chmod', ['-R', 'a+rX', classes]);
  return classes;
}

const lines = (f: string) => readIf(f).split('\n').filter(Boolean).length;

/** Launch, checkpoint once `afterLines` lines are out, kill -9, restart, compare. */
async function resumesLikeUninterrupted(t: import('ava').ExecutionContext, argv: string[], o: { afterLines?: number; referenceArgv?: string[] } = {}) {
  const reference = uninterruptedOutput(o.referenceArgv ?? argv);
  reference.catch(() => undefined);
  const job = new TestJob('runtime');
  t.teardown(() => job.cleanup());
  const out = path.join(job.work, 'out.txt');
  const runner = job.launch(argv);
  const s = await job.running();
  await waitFor(`output of ${path.basename(argv[0]!)}`, () => lines(out) >= (o.afterLines ?? 8), 15_000);
  const cp = await job.command('--bcheckpoint');
  t.is(cp.code, 0, cp.stderr.trim());
  if (cp.code !== 0) {
    await reference.catch(() => ''); // let the reference job end and clean up before the next test
    return;
  }
  t.false(readIf(out).includes('done'), 'checkpointed mid-run');
  await job.killAll(s);
  t.is((await runner.exited).code, 137);
  fs.rmSync(job.portFile, { force: true });
  const r = await job.restartScript().exited;
  t.is(r.code, 0, r.stderr.trim());
  const got = readIf(out);
  t.regex(got, /^done\b.*\n$/m, `finished: ${got.slice(-200)}`);
  t.is(got, await reference, 'the same output as an uninterrupted run');
}

test.serial('python3 with numpy resumes and finishes like an uninterrupted run', async (t) => {
  await resumesLikeUninterrupted(t, [need('/usr/bin/python3', 'python3'), path.join(binDir, 'steps.py'), 'out.txt', STEPS, STEP_MS]);
});

test.serial('perl resumes and finishes like an uninterrupted run', async (t) => {
  await resumesLikeUninterrupted(t, [need('/usr/bin/perl', 'perl'), path.join(binDir, 'steps.pl'), 'out.txt', STEPS, STEP_MS]);
});

// steps.sh sleeps with `read -t` on stdin: the launcher's and the restarter's stdin are
// pipes the test keeps open and never writes to.
test.serial('bash running a loop of builtins resumes and finishes like an uninterrupted run', async (t) => {
  await resumesLikeUninterrupted(t, [need('/usr/bin/bash', 'bash'), path.join(binDir, 'steps.sh'), 'out.txt', STEPS, STEP_MS]);
});

// Every JVM of these jobs is pid 2 in its own namespace and maps /tmp/hsperfdata_USER/2
// shared: the reference, running alongside, does without that file (-XX:-UsePerfData) so it
// cannot replace or delete the one the checkpointed JVM maps.
test.serial('a multi-threaded JVM with GC churn resumes and finishes like an uninterrupted run', async (t) => {
  const java = need('/usr/bin/java', 'openjdk-17-jdk-headless');
  // The JVM leaves its (empty) perf data directory behind: the test removes it if it made it.
  const perfDir = path.join(os.tmpdir(), `hsperfdata_${testUser().name}`);
  if (!fs.existsSync(perfDir)) t.teardown(() => fs.rmSync(perfDir, { recursive: true, force: true }));
  const args = ['-Xmx128m', '-cp', javaClasses(), 'Steps', 'out.txt', STEPS, STEP_MS];
  await resumesLikeUninterrupted(t, [java, ...args], { referenceArgv: [java, '-XX:-UsePerfData', ...args] });
});

// Go's netpoller (epoll) is woken through a pipe whose two ends the process holds itself
// (netpollBreak); its scheduler preempts goroutines with signals.
test.serial('a Go program (goroutines, ticker, GC) resumes and finishes like an uninterrupted run', async (t) => {
  await resumesLikeUninterrupted(t, [goProgram(), 'out.txt', STEPS, STEP_MS]);
});

// libuv wakes its loops through self-pipes (both ends in the process), beside epoll and
// eventfd descriptors; node runs worker threads of its own. The node that runs the tests.
test.serial('node with timers resumes and finishes like an uninterrupted run', async (t) => {
  await resumesLikeUninterrupted(t, [process.execPath, path.join(binDir, 'steps.js'), 'out.txt', STEPS, STEP_MS]);
});

test.serial('a static C binary resumes and finishes like an uninterrupted run', async (t) => {
  await resumesLikeUninterrupted(t, [program('counter', ['-static']), 'out.txt', STEPS, STEP_MS]);
});
