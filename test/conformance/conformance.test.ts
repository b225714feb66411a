// The conformance suite: every test/conformance/*.c exercises one kernel object and checks
// it itself after restart (protocol in conformance.h). Each runs launch -> checkpoint ->
// kill -9 -> restart, twice, then is told to verify. Programs listed in EXPECTED_FAILURES
// (objects cairn cannot restore yet) run as test.failing, so they flip to an error the day
// they pass. A last test shows the checks can fail: a program simply started again instead
// of restored exits non-zero.
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../common/paths.js';
import type { Background, RunResult } from '../helpers/cairn.js';
import { TestJob, type StatusJson } from '../helpers/job.js';

const srcDir = path.join(projectRoot(), 'test', 'conformance');
const sources = fs.readdirSync(srcDir).filter((f) => f.endsWith('.c')).sort();

/** name -> reason, from EXPECTED_FAILURES ("name  reason", # comments). */
function expectedFailures(): Map<string, string> {
  const m = new Map<string, string>();
  const text = fs.readFileSync(path.join(srcDir, 'EXPECTED_FAILURES'), 'utf8');
  for (const line of text.split('\n')) {
    const l = line.replace(/#.*/, '').trim();
    if (!l) continue;
    const [name, ...reason] = l.split(/\s+/);
    m.set(name!.replace(/\.c$/, ''), reason.join(' '));
  }
  return m;
}
const expected = expectedFailures();
for (const name of expected.keys()) {
  if (!sources.includes(`${name}.c`)) throw new Error(`EXPECTED_FAILURES names ${name}, which has no ${name}.c`);
}

// Directives in the first lines of a program: `/* flags: -static -lrt */`, and
// `/* outage-ms: N */` (the job stays dead N ms before each restart, for clock checks).
function directives(file: string): { flags: string[]; outageMs: number; env: Record<string, string> } {
  const head = fs.readFileSync(path.join(srcDir, file), 'utf8').split('\n').slice(0, 5).join('\n');
  const flags = /\/\*\s*flags:\s*(.*?)\s*\*\//.exec(head)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
  const outageMs = Number(/\/\*\s*outage-ms:\s*(\d+)\s*\*\//.exec(head)?.[1] ?? 0);
  // cairn's environment for launch and restart (test knobs), as NAME=VALUE words
  const env = Object.fromEntries(
    (/\/\*\s*env:\s*(.*?)\s*\*\//.exec(head)?.[1]?.split(/\s+/).filter(Boolean) ?? []).map((w) => [w.split('=')[0]!, w.slice(w.indexOf('=') + 1)]),
  );
  return { flags, outageMs, env };
}

/** At most n of fn at once: ava starts every test of a file together; 2 cores cannot. */
function limiter(n: number) {
  let running = 0;
  const queue: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((r) => queue.push(r));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      queue.shift()?.();
    }
  };
}
const compileSlot = limiter(os.availableParallelism());
const jobSlot = limiter(Number(process.env.CAIRN_CONFORMANCE_JOBS ?? 4));

// Binaries go to a directory the test user can read, removed when the worker exits.
const binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-conformance-'));
fs.chmodSync(binDir, 0o755);
process.on('exit', () => fs.rmSync(binDir, { recursive: true, force: true }));

const binaries = new Map<string, Promise<string>>();
function compile(file: string): Promise<string> {
  let p = binaries.get(file);
  if (!p) {
    const out = path.join(binDir, file.replace(/\.c$/, ''));
    const args = ['-O1', '-g', '-Wall', '-Wextra', '-pthread', '-o', out, path.join(srcDir, file), ...directives(file).flags];
    p = compileSlot(
      () =>
        new Promise<string>((resolve, reject) =>
          execFile('gcc', args, (err, _stdout, stderr) => {
            if (err) reject(new Error(`gcc ${file}: ${stderr || err.message}`));
            else resolve(out);
          }),
        ),
    );
    p.catch(() => undefined); // reported by the test that awaits it
    binaries.set(file, p);
  }
  return p;
}
for (const f of sources) void compile(f);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function within<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Until `ready` exists; a program that dies in its setup is reported with its stderr. */
async function untilReady(job: TestJob, runner: Background): Promise<void> {
  let done: RunResult | undefined;
  void runner.exited.then((r) => (done = r));
  const ready = path.join(job.work, 'ready');
  const end = Date.now() + 30_000;
  while (!fs.existsSync(ready)) {
    if (done) throw new Error(`exited (${done.code ?? done.signal}) before ready: ${done.stderr.trim()}`);
    if (Date.now() > end) throw new Error(`not ready after 30 s: ${runner.stderr.trim()}`);
    await sleep(20);
  }
}

/** stderr without the restarter's progress lines: what the program said is wrong. */
function problems(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => l.trim() && !/^cairn: restored /.test(l))
    .join(' | ');
}

/** job.running(), but a launcher or restarter that dies first is reported with its stderr. */
async function registered(job: TestJob, runner: Background, what: string): Promise<StatusJson> {
  const died = runner.exited.then((r) => {
    throw new Error(`${what}: exited (${r.code ?? r.signal}) before the job registered: ${problems(r.stderr)}`);
  });
  died.catch(() => undefined);
  return Promise.race([job.running(), died]);
}

function go(job: TestJob): void {
  fs.writeFileSync(path.join(job.work, 'go'), '');
}

async function checkpointKillRestartTwice(t: ExecutionContext, file: string): Promise<void> {
  const name = file.replace(/\.c$/, '');
  const bin = await compile(file);
  const { outageMs, env } = directives(file);
  await jobSlot(async () => {
    const job = new TestJob(`cf-${name}`);
    t.teardown(() => job.cleanup());
    let runner = job.launch([bin], { env });
    await untilReady(job, runner);
    for (let cycle = 1; cycle <= 2; cycle++) {
      const s = await registered(job, runner, cycle === 1 ? 'launch' : 'restart 1');
      const cp = await job.command('--bcheckpoint');
      if (cp.code !== 0) throw new Error(`checkpoint ${cycle} failed: ${(cp.stderr || cp.stdout).trim()}`);
      await job.killAll(s);
      await within('the killed launcher to exit', runner.exited, 10_000);
      fs.rmSync(job.portFile, { force: true });
      if (outageMs) await sleep(outageMs);
      runner = job.restartScript([], undefined, env);
    }
    go(job);
    const r = await within(`${name} to finish after restart 2`, runner.exited, 30_000);
    t.is(r.code, 0, `${name}: exit ${r.code ?? r.signal}: ${problems(r.stderr)}`);
  });
}

for (const file of sources) {
  const name = file.replace(/\.c$/, '');
  const why = expected.get(name);
  // CAIRN_CONFORMANCE_SHOW_EXPECTED=1 runs expected failures as plain tests, to see why they fail.
  if (why === undefined || process.env.CAIRN_CONFORMANCE_SHOW_EXPECTED) test(`${name}: intact after two checkpoint/kill/restart cycles`, (t) => checkpointKillRestartTwice(t, file));
  else test.failing(`${name}: not restored yet (${why})`, (t) => checkpointKillRestartTwice(t, file));
}

// Distinct kinds of object; each program started fresh in its old cwd must fail.
const freshOnes = ['sigaltstack', 'tls_threads', 'map_shared_file', 'file_offset_ro', 'umask', 'rlimits', 'regs_fpu_avx'];

test('a no-op restart (the program started fresh in its old cwd) fails the checks', async (t) => {
  // allSettled: every job is over before the test (and its teardown) ends.
  const results = await Promise.allSettled(
    freshOnes.map(async (name) => {
      const bin = await compile(`${name}.c`);
      await jobSlot(async () => {
        const job = new TestJob(`cf-fresh-${name}`);
        t.teardown(() => job.cleanup());
        const first = job.launch([bin]);
        await untilReady(job, first);
        const s = await registered(job, first, 'launch');
        await job.killAll(s);
        await within('the killed launcher to exit', first.exited, 10_000);
        fs.rmSync(job.portFile, { force: true });
        const again = job.launch([bin]);
        go(job);
        const r = await within(`${name} started fresh to exit`, again.exited, 30_000);
        t.not(r.code, 0, `${name} started fresh passed its checks`);
        t.regex(r.stderr, /FAIL: started fresh/, `${name}: ${r.stderr.trim()}`);
      });
    }),
  );
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});
