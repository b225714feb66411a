// Incremental images: after a full one, a process's next images store only the pages it wrote
// since (tracked by userfaultfd write-protect) and refer to older images for the rest; a
// restart reads each page where it is; old generations are kept while a kept one reads them,
// and go once a full image has replaced them.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { cairn, readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { program } from '../helpers/programs.js';
import { projectRoot } from '../../common/paths.js';
import { restartsIdentical, uninterruptedOutput } from './reference.js';

const MIB = 256;
const ARGS = ['out.txt', '500', '20', String(MIB), '10'];   // 1% of its pages written, again and again
const lines = (work: string) => readIf(path.join(work, 'out.txt')).split('\n').filter(Boolean).length;

interface ImageEntry { file: string; bytes: string; reads: string[]; stored: string }
function images(genDir: string): ImageEntry[] {
  const t = protobuf.loadSync(path.join(projectRoot(), 'protos', 'manifest.proto')).lookupType('cairn.v1.Manifest');
  const m = t.toObject(t.decode(fs.readFileSync(path.join(genDir, 'manifest.pb'))), { longs: String, defaults: true, arrays: true }) as { hosts: Array<{ images: ImageEntry[] }> };
  return m.hosts.flatMap((h) => h.images);
}

test('incremental images store only the pages written since, restart byte-identical, old generations pruned once a full image replaces them', async (t) => {
  const prog = program('touch');
  const reference = uninterruptedOutput([prog, ...ARGS]);
  const job = new TestJob('incremental');
  t.teardown(() => job.cleanup());
  const launcher = job.launch([prog, ...ARGS], { env: { CAIRN_FULL_EVERY: '3' } });
  const s = await job.running();
  await waitFor('the program running', () => lines(job.work) > 5, 60_000);
  const gens: ImageEntry[] = [];
  for (let g = 1; g <= 5; g++) {
    const n = lines(job.work);
    await waitFor('a few steps', () => lines(job.work) > n + 5, 10_000);
    const r = await job.command('--bcheckpoint');
    t.is(r.code, 0, r.stderr);
    const img = images(path.join(s.ckptDir, `gen-00000${g}`))[0]!;
    gens.push(img);
  }
  const stored = gens.map((g) => Number(g.stored) / 2 ** 20);
  const mem = MIB;
  // Generations 1 and 4 are full (CAIRN_FULL_EVERY=3), the others incremental.
  for (const g of [0, 3]) {
    t.deepEqual(gens[g]!.reads, [], `generation ${g + 1} is full`);
    t.true(stored[g]! >= mem, `generation ${g + 1} stores all its memory (${stored[g]} MiB)`);
  }
  t.deepEqual(gens[1]!.reads, ['gen-000001']);
  // Never a chain: a page is read where it was last stored (its hot pages are stored anew).
  t.true(gens[2]!.reads.includes('gen-000001') && gens[2]!.reads.every((g) => g === 'gen-000001' || g === 'gen-000002'), gens[2]!.reads.join(' '));
  t.deepEqual(gens[4]!.reads, ['gen-000004']);
  for (const g of [1, 2, 4]) t.true(stored[g]! < mem * 0.03, `generation ${g + 1} stores ${stored[g]} MiB of ${mem} MiB`);
  for (const g of [1, 2, 4]) t.true(Number(gens[g]!.bytes) < Number(gens[0]!.bytes) * 0.05, `generation ${g + 1}'s image is small: ${gens[g]!.bytes} bytes`);
  // Kept: 5 and 4 (the newest two) and what they read (4); 1..3 went once 4 was full.
  const left = fs.readdirSync(s.ckptDir).filter((e) => /^gen-/.test(e)).sort();
  t.deepEqual(left, ['gen-000004', 'gen-000005']);

  await job.killAll(s);
  await launcher.exited;
  await restartsIdentical(t, job, reference);
});

test('a generation an incremental image reads is kept, and a restart from it needs it', async (t) => {
  const prog = program('touch');
  const reference = uninterruptedOutput([prog, ...ARGS]);
  const job = new TestJob('incrkeep');
  t.teardown(() => job.cleanup());
  const launcher = job.launch([prog, ...ARGS]);
  const s = await job.running();
  await waitFor('the program running', () => lines(job.work) > 5, 60_000);
  for (let g = 1; g <= 3; g++) {
    const n = lines(job.work);
    await waitFor('a few steps', () => lines(job.work) > n + 5, 10_000);
    t.is((await job.command('--bcheckpoint')).code, 0);
  }
  // keep = 2, but generation 3 reads generation 1's image.
  const left = fs.readdirSync(s.ckptDir).filter((e) => /^gen-/.test(e)).sort();
  t.deepEqual(left, ['gen-000001', 'gen-000002', 'gen-000003']);
  // inspect says where the pages are, and --verify checks them there.
  const ins = await cairn(['inspect', '--verify', path.join(s.ckptDir, 'gen-000003')], { cwd: job.work });
  t.is(ins.code, 0, ins.stderr);
  t.regex(ins.stdout, /incremental pages not written since are read from gen-000001 \(/);
  await job.killAll(s);
  await launcher.exited;
  // Without generation 1, generation 3 cannot be restored: one line naming what is missing.
  const hidden = path.join(job.root, 'gen-000001');
  fs.renameSync(path.join(s.ckptDir, 'gen-000001'), hidden);
  const bad = await job.restartScript().exited;
  t.not(bad.code, 0);
  t.regex(bad.stderr, /gen-000001\/touch\.\S+\.cimg.*(cannot be read|No such file)/);
  t.false(bad.stderr.includes('    at '), 'no stack trace');
  fs.renameSync(hidden, path.join(s.ckptDir, 'gen-000001'));
  await restartsIdentical(t, job, reference);
});
