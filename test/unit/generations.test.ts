// Pruning of generations with incremental images: a generation a kept one reads stays.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { genName, pruneGenerations } from '../../coordinator/generations.js';
import { buildManifest, writeManifest } from '../../coordinator/manifest.js';

async function jobDir(t: import('ava').ExecutionContext, reads: Record<number, string[]>, latest: number): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-gens-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [n, r] of Object.entries(reads)) {
    const g = path.join(dir, genName(Number(n)));
    fs.mkdirSync(g);
    const images = [{ file: 'a.out.1.2.cimg', nsPid: 2, comm: 'a.out', bytes: '1', metaCrc32c: 0, notes: [], reads: r, stored: '1' }];
    await writeManifest(g, buildManifest({ jobId: 'a.out-000000', generation: Number(n), createdUnixMs: '0', hosts: [{ host: 'h', cwd: '/', images }], intervalS: 0, coordPort: 0, argv: ['a.out'] }));
  }
  fs.symlinkSync(genName(latest), path.join(dir, 'latest'));
  return dir;
}

const left = (dir: string) => fs.readdirSync(dir).filter((e) => e.startsWith('gen-')).sort();

test('the newest `keep` generations stay, with every generation their images read', async (t) => {
  const dir = await jobDir(t, { 1: [], 2: ['gen-000001'], 3: [], 4: ['gen-000001', 'gen-000003'], 5: ['gen-000001', 'gen-000003'] }, 5);
  t.deepEqual(await pruneGenerations(dir, 2), ['gen-000002']);
  t.deepEqual(left(dir), ['gen-000001', 'gen-000003', 'gen-000004', 'gen-000005']);
});

test('once a full image replaces them, old generations go', async (t) => {
  const dir = await jobDir(t, { 1: [], 2: ['gen-000001'], 3: ['gen-000001'], 4: [], 5: ['gen-000004'] }, 5);
  t.deepEqual((await pruneGenerations(dir, 2)).sort(), ['gen-000001', 'gen-000002', 'gen-000003']);
  t.deepEqual(left(dir), ['gen-000004', 'gen-000005']);
});

test('an unreadable manifest of a kept generation stops the pruning', async (t) => {
  const dir = await jobDir(t, { 1: [], 2: [], 3: [] }, 3);
  fs.writeFileSync(path.join(dir, genName(3), 'manifest.pb'), 'not a manifest');
  await t.throwsAsync(pruneGenerations(dir, 1));
  t.deepEqual(left(dir), ['gen-000001', 'gen-000002', 'gen-000003']);
});
