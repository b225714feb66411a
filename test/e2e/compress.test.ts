// Page data storage: zero pages are holes (or left out of frames) whatever the codec, every
// codec restarts byte-exact, and a bad --compress value is one clear line naming the flag.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { cairn, cairnBackground, readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { program } from '../helpers/programs.js';

const HEADER_CODEC_OFFSET = 12;   // agent/image-file.ts
const CODECS = { none: 0, zstd: 1, gzip: 2 } as const;

function images(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.cimg')).map((f) => path.join(dir, f));
}

function headerCodec(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    fs.readSync(fd, b, 0, 4, HEADER_CODEC_OFFSET);
    return b.readUInt32LE(0);
  } finally {
    fs.closeSync(fd);
  }
}

const okLines = (out: string) => out.split('\n').filter((l) => l.startsWith('ok ')).length;

/** bigmem (1 MiB random / 1 MiB zeros, some zero pages among the random ones) checkpointed
 * with `how` (launch flag or per-checkpoint flag), killed, restarted: its own check of every
 * byte of its memory must keep saying ok. */
async function roundTrip(t: import('ava').ExecutionContext, codec: keyof typeof CODECS, how: 'launch' | 'command', spec: string = codec): Promise<void> {
  const job = new TestJob(`compress-${codec}`);
  t.teardown(() => job.cleanup());
  const out = path.join(job.work, 'out.txt');
  job.launch([program('bigmem'), 'out.txt', '64', 'mixed', '100000', '300'], { extra: how === 'launch' ? [`--compress=${spec}`] : [] });
  const s = await job.running();
  await waitFor('memory filled and checked once', () => okLines(readIf(out)) >= 1, 60_000);
  const cp = await job.command('--bcheckpoint', ...(how === 'command' ? ['--compress', spec] : []));
  t.is(cp.code, 0, cp.stderr);
  const gen = fs.realpathSync(path.join(s.ckptDir, 'latest'));
  const files = images(gen);
  t.true(files.length >= 1);
  for (const f of files) t.is(headerCodec(f), CODECS[codec], `${path.basename(f)} records codec ${codec}`);
  await job.killAll(s);
  await job.launcher!.exited;
  const before = okLines(readIf(out));
  fs.rmSync(job.portFile, { force: true });
  const restarted = cairnBackground(['restart', '--coord-port', '0', '--port-file', job.portFile, s.ckptDir], { cwd: job.work });
  job.launcher = restarted;
  await waitFor('two checks after the restart', () => okLines(readIf(out)) >= before + 2, 60_000);
  t.false(readIf(out).includes('BAD'), 'memory byte-exact after the restart');
  await job.command('--kill');
  await restarted.exited;
}

for (const codec of ['none', 'zstd', 'gzip'] as const) {
  test.serial(`${codec}: a zero + random process restarts byte-exact (codec given at launch)`, (t) => roundTrip(t, codec, 'launch'));
}
test.serial('zstd:3 given for one checkpoint with cairn command restarts byte-exact', (t) => roundTrip(t, 'zstd', 'command', 'zstd:3'));

test.serial('a mostly-zero 256 MiB process: the image takes little disk (holes) in every mode', async (t) => {
  const job = new TestJob('holes');
  t.teardown(() => job.cleanup());
  const out = path.join(job.work, 'out.txt');
  job.launch([program('bigmem'), 'out.txt', '256', 'zero', '1', '1000000']);
  const s = await job.running();
  await waitFor('memory filled', () => readIf(out).includes('ready'), 60_000);
  for (const codec of ['none', 'zstd', 'gzip'] as const) {
    const cp = await job.command('--bcheckpoint', '--compress', codec);
    t.is(cp.code, 0, cp.stderr);
    const gen = fs.realpathSync(path.join(s.ckptDir, 'latest'));
    const main = images(gen).find((f) => path.basename(f).startsWith('bigmem'))!;
    const st = fs.statSync(main);
    const onDisk = st.blocks * 512;
    if (codec === 'none') t.true(st.size > 256 * 2 ** 20, `the raw image spans the whole memory (${st.size} bytes)`);
    t.true(onDisk < 4 * 2 ** 20, `${codec}: 256 MiB of zeros take ${onDisk} bytes on disk`);
  }
  await job.command('--kill');
  await job.launcher!.exited;
});

test('a bad --compress value is one line naming the flag', async (t) => {
  const job = new TestJob('badcompress');
  t.teardown(() => job.cleanup());
  const r = await cairn(['launch', '--coord-port', '0', '--ckptdir', job.ckpt, '--compress=lz4', '/bin/true'], { cwd: job.work, timeoutMs: 30_000 });
  t.not(r.code, 0);
  const first = r.stderr.split('\n')[0]!;
  t.regex(first, /^cairn: --compress: 'lz4' is not a codec$/);
  const lvl = await cairn(['command', '--coord-port', '1', '--ckptdir', job.ckpt, '--checkpoint', '--compress', 'gzip:12'], { cwd: job.work, timeoutMs: 30_000 });
  t.not(lvl.code, 0);
  t.regex(lvl.stderr.split('\n')[0]!, /^cairn: --compress: level 12 of gzip is out of range 1\.\.9$/);
  const env = await cairn(['launch', '--coord-port', '0', '--ckptdir', job.ckpt, '/bin/true'], { cwd: job.work, env: { CAIRN_COMPRESS: 'fast' }, timeoutMs: 30_000 });
  t.not(env.code, 0);
  t.regex(env.stderr.split('\n')[0]!, /^cairn: CAIRN_COMPRESS: 'fast' is not a codec$/);
});

test.serial('a damaged compressed frame is found before anything starts, in one line', async (t) => {
  const job = new TestJob('compress-damaged');
  t.teardown(() => job.cleanup());
  const out = path.join(job.work, 'out.txt');
  job.launch([program('bigmem'), 'out.txt', '16', 'mixed', '1', '1000000'], { extra: ['--compress', 'gzip'] });
  const s = await job.running();
  await waitFor('memory filled', () => readIf(out).includes('ready'), 60_000);
  t.is((await job.command('--bcheckpoint')).code, 0);
  const gen = fs.realpathSync(path.join(s.ckptDir, 'latest'));
  await job.command('--kill');
  await job.launcher!.exited;
  const main = images(gen).find((f) => path.basename(f).startsWith('bigmem'))!;
  const fd = fs.openSync(main, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, 4096 + 1000);
  b[0] ^= 0xff;
  fs.writeSync(fd, b, 0, 1, 4096 + 1000);
  fs.closeSync(fd);
  for (const args of [['inspect', '--verify', gen], ['restart', '--coord-port', '0', gen]]) {
    const r = await cairn(args, { cwd: job.work, timeoutMs: 60_000 });
    t.not(r.code, 0, args[0]);
    t.regex(r.stderr.split('\n')[0]!, /^cairn: .*image .*bigmem.*\.cimg is damaged: page frame \d+ at offset \d+: gzip: /, args[0]);
  }
});
