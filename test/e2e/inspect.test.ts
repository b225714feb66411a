// cairn inspect: a real checkpoint of counter, read back for people and for tools, from
// every kind of target restart takes; damaged images are reported in one line.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { cairn, readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { program } from '../helpers/programs.js';
import { checkpointedCounter, flipByte, oneLineError } from '../helpers/damage.js';

interface InspectJson {
  genDir: string;
  ok: boolean;
  generation: { jobId: string; generation: number; cairnVersion: string; argv: string[]; hosts: Array<{ host: string }> } | null;
  processes: Array<{
    comm: string;
    pid: number;
    exe: string;
    argv: string[];
    checks: { header: string; metadata: string; manifest: string; pages: string };
    threads: Array<{ tid: number; rip: string; origRax: number; syscall: string | null; where: string | null; regs: Record<string, string> }>;
    memory: { regions: number; mappedBytes: number; storedBytes: number };
    image: { pagesBytes: string; fds: Array<{ fd: number; kind: string; path: string; pos: string; size: string }>; vmas: Array<{ name: string; kind: string }>; rlimits: unknown[] };
  }>;
}

test('inspect shows a real checkpoint for people and as JSON, from any restart target', async (t) => {
  const job = new TestJob('inspect');
  t.teardown(() => job.cleanup());
  const counter = program('counter');
  job.launch([counter, 'out.txt', '400', '50']);
  const s = await job.running();
  await waitFor('some output', () => readIf(path.join(job.work, 'out.txt')).length > 200, 10_000);
  const cp = await job.command('--bcheckpoint');
  t.is(cp.code, 0, cp.stderr);
  await job.killAll(s);
  await job.launcher!.exited;
  const gen = path.join(s.ckptDir, 'gen-000001');
  const image = fs.readdirSync(gen).find((f) => f.endsWith('.cimg'))!;
  const out = path.join(job.work, 'out.txt');

  const text = await cairn(['inspect', job.ckpt], { cwd: job.work });
  t.is(text.code, 0, text.stderr);
  const o = text.stdout;
  t.regex(o, new RegExp(`^Generation 1 of job ${path.basename(s.ckptDir)}$`, 'm'));
  t.regex(o, /^ {2}cairn {6}\d+\.\d+\.\d+/m);
  t.regex(o, /^ {2}written {4}\d{4}-\d\d-\d\dT/m);
  t.regex(o, /^Process counter, pid \d+/m);
  t.true(o.includes(`exe        ${counter}`), o);
  t.regex(o, /argv .*counter out\.txt 400 50/);
  // counter spends its time in nanosleep: the thread was stopped inside that syscall
  t.regex(o, /tid \d+: stopped at 0x[0-9a-f]+ \(libc\.so\.6\+0x[0-9a-f]+\), in syscall (clock_)?nanosleep \(\d+\)/);
  t.regex(o, /header ok, metadata crc32c 0x[0-9a-f]+ ok, manifest ok, pages \(\d+ runs, crc32c each\) not checked/);
  t.regex(o, /rw-p +anon +.*\[heap\]/);
  t.regex(o, /rw-p +stack +.*\[stack\]/);
  t.regex(o, new RegExp(`^ +3 +file +WRONLY\\|APPEND\\S* +\\d+ +${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(size \\d+\\)`, 'm'));
  t.regex(o, /NOFILE \d+\/\d+/);
  t.regex(o, /Signal dispositions/);

  const json = await cairn(['inspect', '--json', '--verify', gen], { cwd: job.work });
  t.is(json.code, 0, json.stderr);
  const d = JSON.parse(json.stdout) as InspectJson;
  t.true(d.ok);
  t.is(d.genDir, gen);
  t.is(d.generation?.generation, 1);
  t.deepEqual(d.generation?.argv.slice(1), ['out.txt', '400', '50']);
  t.is(d.processes.length, 1);
  const p = d.processes[0]!;
  t.is(p.comm, 'counter');
  t.is(p.exe, counter);
  t.deepEqual(p.checks, { header: 'ok', metadata: 'ok', manifest: 'ok', pages: 'ok' });
  t.is(p.threads.length, 1);
  t.is(p.threads[0]!.tid, p.pid);
  t.regex(p.threads[0]!.syscall ?? '', /nanosleep/);
  t.is(p.threads[0]!.rip, p.threads[0]!.regs.rip);
  const fd3 = p.image.fds.find((f) => f.fd === 3)!;
  t.is(fd3.path, out);
  t.is(fd3.kind, 'FD_FILE');
  t.is(fd3.pos, fd3.size, 'the output file is at its end');
  t.true(p.memory.storedBytes >= 1024 * 1024, 'the 1 MiB heap is in the image');
  t.is(p.memory.storedBytes, Number(p.image.pagesBytes));
  t.true(p.image.vmas.some((v) => v.name === '[stack]' && v.kind === 'VMA_STACK'));
  t.is(p.image.rlimits.length, 16);

  // the job directory and the image file itself name the same process
  for (const target of [s.ckptDir, path.join(gen, image)]) {
    const r = await cairn(['inspect', '--json', target], { cwd: job.work });
    t.is(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as InspectJson;
    t.is(j.processes[0]!.pid, p.pid);
    t.is(j.processes[0]!.checks.pages, 'not checked');
  }
});

test('inspect reports damaged, truncated and missing images in one line', async (t) => {
  const job = new TestJob('inspectbad');
  t.teardown(() => job.cleanup());
  const { size, bad, copy } = await checkpointedCounter(t, job, 100);
  const damaged = copy('pages', flipByte(4096 + 123));
  // a damaged page is only found by --verify, which still prints the whole report
  t.is((await cairn(['inspect', damaged], { cwd: job.work })).code, 0);
  const v = await cairn(['inspect', '--verify', damaged], { cwd: job.work });
  oneLineError(t, v, /damaged: checksum mismatch in page run/, { hint: true });
  t.regex(v.stdout, /^Process counter/m);
  const vj = await cairn(['inspect', '--json', '--verify', damaged], { cwd: job.work });
  t.not(vj.code, 0);
  const j = JSON.parse(vj.stdout) as InspectJson;
  t.false(j.ok);
  t.regex(j.processes[0]!.checks.pages, /checksum mismatch/);

  const truncated = copy('truncated', (f) => fs.truncateSync(f, Math.floor(size / 2)));
  oneLineError(t, await cairn(['inspect', truncated], { cwd: job.work }), /truncated/, { hint: true });
  oneLineError(t, await cairn(['inspect', path.join(bad, 'missing.cimg')], { cwd: job.work }), /does not exist/, { hint: true });
  oneLineError(t, await cairn(['inspect', path.join(job.root, 'nowhere')], { cwd: job.work }), /does not exist/, { hint: true });
  oneLineError(t, await cairn(['inspect', job.work], { cwd: job.work }), /no checkpoint in/, { hint: true });
});
