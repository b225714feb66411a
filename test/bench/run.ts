// npm run bench: how fast cairn is, each figure beside its physical limit measured in the same
// run. Prints tables, then one JSON document. `--quick`: 64 MiB only, fewer repetitions;
// `--sizes=64,1024`: those sizes in the first table; `--only=matrix,codecs,threads,overhead,mpi,incremental`.
//   - checkpoint and restart of 64 MiB / 1 GiB / 4 GiB processes of random, zero and
//     patterned memory, and of random memory in transparent huge pages, against dd writing
//     and reading as many bytes in the same directory
//     (4 GiB only when memory allows); the application's pause; the image's size
//   - zstd, gzip -1 and no compression on text-like memory: speed and ratio
//   - a process of 1 and of 8 threads
//   - a trivial process's checkpoint end to end; launch overhead; runtime overhead without
//     checkpoints (malloc-heavy 8 threads, pipe I/O, syscall loop) against native runs
//   - an incremental checkpoint after the process wrote 1% of its pages, beside the full one
//   - an MPI job on the test bed's three hosts: its checkpoint beside the slowest host's
//     own image writing (the bed is brought up when run as root)
import os from 'node:os';
import path from 'node:path';
import { readIf } from '../helpers/cairn.js';
import { program } from '../helpers/programs.js';
import { bigmemSpec, checkpointAndRestart, type CheckpointRow } from './checkpoints.js';
import { incrementalCheckpoint } from './incremental.js';
import { mpiCheckpoint } from './mpi.js';
import { launchOverhead, runtimeOverhead, trivialCheckpoint } from './overhead.js';
import { scratchDir } from '../helpers/scratch.js';
import { availableMemory, dd, gzipTool, MiB, readInFiles, wakeLimit, type GzipTool, type Limits } from './util.js';

const quick = process.argv.includes('--quick');
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = arg('only')?.split(',');
const want = (section: string) => !only || only.includes(section);
const bigmem = program('bigmem');
const workload = program('workload');
const wake = program('wake');
const f3 = (x: number) => `${x.toFixed(3)} s`;
const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const pad = (s: string, n: number) => s.padStart(n);
const notes: string[] = [];
const started = Date.now();

// 1. Memory sizes x kinds, no compression, against dd.
const sizes = !want('matrix') ? [] : arg('sizes') ? arg('sizes')!.split(',').map(Number) : quick ? [64] : [64, 1024, 4096];
const limits: Record<number, Limits> = {};
const matrix: CheckpointRow[] = [];
for (const size of sizes) {
  // The process, its image in the page cache and dd's file must fit with room to spare.
  const need = size * MiB * 3;
  if (availableMemory() < need) {
    notes.push(`${size} MiB skipped: ${mib(availableMemory())} available, ${mib(need)} needed (process + image in the page cache + dd)`);
    continue;
  }
  // random huge: the same random memory in transparent huge pages (MADV_HUGEPAGE), as HPC
  // jobs often have it: a snapshot copies one page table entry per 2 MiB instead of 512
  for (const kind of ['random', 'zero', 'pattern', 'random huge']) {
    const before = kind === 'random' ? (dir: string) => (limits[size] = { ...dd(dir, size, workload), ...wakeLimit(wake, size) }) : undefined;
    // Random memory is also restarted five times (this VM's reads swing: a median of five), each just after a read-in of its own image.
    const paired = kind === 'random' && !quick ? { restarts: 5, readIn: (files: string[]) => readInFiles(workload, files) } : {};
    matrix.push(await checkpointAndRestart(bigmemSpec(bigmem, size, kind, { before, ...paired })));
    process.stderr.write(`bench: ${size} MiB ${kind} done (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  }
}

// 2. Codecs on patterned memory (bigmem's byte pattern) and on text-like memory (random
// words and numbers: entropy-bound, harder than most real data).
const textMib = quick ? 64 : 1024;
const codecs: Array<CheckpointRow & { kind: string }> = [];
let gzip: GzipTool | undefined;
for (const kind of want('codecs') ? ['pattern', 'text'] : []) {
  for (const compress of ['none', 'zstd:1', 'gzip:1']) {
    // The run of median checkpoint time out of three: one run on a shared machine can be
    // off by half. Compressed images are full every time: a second checkpoint shows what the
    // next ones cost (uncompressed, it would be incremental).
    const checkpoints = compress === 'none' ? 1 : 2;
    const tries: CheckpointRow[] = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) tries.push(await checkpointAndRestart(bigmemSpec(bigmem, textMib, kind, { compress, checkpoints, label: `${textMib} MiB ${kind} ${compress}` })));
    tries.sort((a, b) => a.checkpointS - b.checkpointS);
    codecs.push({ kind, ...tries[tries.length >> 1]! });
  }
}
if (codecs.length) {
  const scratch = scratchDir('cairn-bench-codecs-');
  try {
    gzip = gzipTool(scratch.dir, textMib);
  } finally {
    scratch.remove();
  }
}
if (codecs.length) process.stderr.write(`bench: codecs done (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);

// 3. Threads: the same memory in a process of 1 and of 8 threads.
const threadMib = quick ? 64 : 256;
const threads: Array<CheckpointRow & { threads: number }> = [];
for (const n of want('threads') ? [1, 8] : []) {
  const row = await checkpointAndRestart({
    label: `${threadMib} MiB, ${n} thread${n > 1 ? 's' : ''}`,
    argv: [workload, 'out.txt', 'idle', String(n), String(threadMib)],
    bytes: threadMib * MiB,
    ready: (work) => readIf(path.join(work, 'out.txt')).includes('ready'),
  });
  threads.push({ ...row, threads: n });
}

// 4. What cairn costs outside checkpoints.
const overhead = want('overhead');
const trivial = overhead ? await trivialCheckpoint(workload, quick ? 3 : 10) : undefined;
const launch = overhead ? await launchOverhead(quick ? 2 : 5) : undefined;
const runs = quick ? 1 : 9;
const repeats = quick ? 2 : 5;
const runtime = overhead
  ? [
      await runtimeOverhead(workload, 'malloc', quick ? '200000' : '1000000', runs, repeats),
      await runtimeOverhead(workload, 'pipe', quick ? '256' : '2048', runs, repeats),
      await runtimeOverhead(workload, 'syscall', quick ? '500000' : '1000000', runs, repeats),
    ]
  : [];

// 5. Incremental: the largest size that fits, 1% of its pages written between checkpoints.
const incrMib = quick ? 64 : availableMemory() > 4096 * MiB * 3 ? 4096 : 1024;
const incremental = want('incremental') ? await incrementalCheckpoint(program('touch'), incrMib) : undefined;

// 6. An MPI job across hosts.
const mpi = want('mpi') ? await mpiCheckpoint(quick ? 2 : 5, notes) : undefined;

// ---- report
const out: string[] = [];
out.push(`cairn bench: ${os.cpus().length} CPUs, ${mib(os.totalmem())} RAM, kernel ${os.release()}, ${((Date.now() - started) / 1000).toFixed(0)} s`);
out.push('');
if (matrix.length) {
out.push('Checkpoint / restart, no compression. Limits for the same bytes in the same directory: write = the faster of');
out.push('dd conv=fsync and dd oflag=direct; read = dd from the page cache / dd iflag=direct from the disk / read from the disk');
out.push('into fresh memory by parallel reads, the fastest of O_DIRECT and buffered with 2 and 8 threads (what a restart must do:');
out.push('the image, written O_DIRECT, is not in the page cache);');
out.push('wake = an idle process of that size woken from a blocking read, until it runs again: median / longest of 8');
out.push(`${'memory'.padEnd(22)} ${pad('checkpoint', 10)} ${pad('dd write', 9)} ${pad('ratio', 7)} | ${pad('restart', 9)} ${pad('(restore)', 10)} ${pad('dd cache', 9)} ${pad('dd disk', 9)} ${pad('read in', 9)} ${pad('ratio', 7)} | ${pad('pause', 9)} ${pad('wake', 15)} | ${pad('image', 11)} ${pad('on disk', 11)}`);
for (const r of matrix) {
  const l = limits[r.bytes / MiB]!;
  out.push(`${r.label.padEnd(22)} ${pad(f3(r.checkpointS), 10)} ${pad(f3(l.writeS), 9)} ${pad(ratio(r.checkpointS, l.writeS), 7)} | ${pad(f3(r.restartS), 9)} ${pad(`(${f3(r.restoreS)})`, 10)} ${pad(f3(l.readS), 9)} ${pad(f3(l.readDiskS), 9)} ${pad(f3(l.readInS), 9)} ${pad(ratio(r.restartS, l.readInS), 7)} | ${pad(f3(r.pauseS), 9)} ${pad(l.wakeMaxS === undefined ? '-' : `${l.wakeMedianS!.toFixed(3)} / ${l.wakeMaxS.toFixed(3)}`, 15)} | ${pad(mib(r.imageBytes), 11)} ${pad(mib(r.onDiskBytes), 11)}`);
}
const paired = matrix.filter((r) => r.pairs);
if (paired.length) {
  out.push('');
  out.push('Restart beside its limit, measured just before it: the image itself read into fresh memory (O_DIRECT, 8 threads),');
  out.push('then `cairn restart` of it; five pairs, one after the other (restart and ratio above: the median restart against the');
  out.push('read-in of a dd file before the job started)');
  for (const r of paired) {
    const ratios = r.pairs!.map((p) => p.restartS / p.readInS);
    const med = [...ratios].sort((a, b) => a - b)[ratios.length >> 1]!;
    out.push(`${r.label.padEnd(22)} ${r.pairs!.map((p) => `${f3(p.restartS)} / ${f3(p.readInS)} = ${ratio(p.restartS, p.readInS)}`).join('   ')}   median ${med.toFixed(2)}x`);
  }
}
}
if (codecs.length) {
out.push('');
out.push(`Codecs on ${textMib} MiB (speed = memory bytes / checkpoint time; gzip:1 = gzip -1; the median of ${quick ? 1 : 3} runs;`);
out.push('compressed: the first checkpoint of a job (it makes the dump\'s workers, which later ones reuse) and the next one)');
out.push(`${'memory'.padEnd(8)} ${'codec'.padEnd(8)} ${pad('first', 9)} ${pad('next', 9)} ${pad('MB/s', 7)} ${pad('image', 11)} ${pad('ratio', 7)} | ${pad('restart', 9)} ${pad('(restore)', 10)} | ${pad('pause', 9)}`);
for (const r of codecs) {
  const next = r.compress === 'none' ? '-' : f3(r.checkpointS);
  out.push(`${r.kind.padEnd(8)} ${r.compress.padEnd(8)} ${pad(f3(r.firstCheckpointS), 9)} ${pad(next, 9)} ${pad((r.bytes / r.checkpointS / 1e6).toFixed(0), 7)} ${pad(mib(r.onDiskBytes), 11)} ${pad(ratio(r.bytes, r.onDiskBytes), 7)} | ${pad(f3(r.restartS), 9)} ${pad(`(${f3(r.restoreS)})`, 10)} | ${pad(f3(r.pauseS), 9)}`);
}
for (const kind of ['pattern', 'text']) {
  const z = codecs.find((r) => r.kind === kind && r.compress.startsWith('zstd'))!;
  const g = codecs.find((r) => r.kind === kind && r.compress.startsWith('gzip'))!;
  out.push(`${kind}: zstd checkpoints ${(g.checkpointS / z.checkpointS).toFixed(1)}x as fast as gzip -1 (first checkpoints ${(g.firstCheckpointS / z.firstCheckpointS).toFixed(1)}x); ratio ${ratio(z.bytes, z.onDiskBytes)} vs ${ratio(g.bytes, g.onDiskBytes)}`);
  if (kind === 'pattern' && gzip) {
    out.push(`  gzip -1 itself on the same bytes (one thread, as DMTCP runs it; page cache to the same directory): ${f3(gzip.gzipS)}, ratio ${gzip.gzipRatio.toFixed(2)}x;`);
    out.push(`  cairn's zstd checkpoint is ${(gzip.gzipS / z.checkpointS).toFixed(1)}x as fast (first checkpoints ${(gzip.gzipS / z.firstCheckpointS).toFixed(1)}x)`);
  }
}
}
out.push('');
if (threads.length) out.push(`Threads (${threadMib} MiB random)`);
for (const r of threads) out.push(`${String(r.threads).padStart(2)} thread(s): checkpoint ${f3(r.checkpointS)}, pause ${f3(r.pauseS)}, restart ${f3(r.restartS)}`);
out.push('');
if (trivial) out.push(`Trivial process (1 MiB, 1 thread), median of ${trivial.runs}: checkpoint ${f3(trivial.checkpointS)} (pause ${f3(trivial.pauseS)}); cairn command --bcheckpoint end to end ${f3(trivial.commandWallS)} (through the Node CLI ${f3(trivial.nodeCommandWallS)})`);
if (launch) out.push(`Launch of /bin/true, median of ${launch.runs}: native ${f3(launch.nativeS)}, cairn launch --new-coordinator ${f3(launch.cairnS)} (+${f3(launch.cairnS - launch.nativeS)})`);
if (runtime.length) out.push(`Runtime without checkpoints (each program times itself, ${repeats} times in a row, and counts its fastest; ${runs} launches, each under cairn right after a native one), median:`);
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
for (const r of runtime) {
  out.push(`  ${r.workload.padEnd(16)} wall: native ${f3(r.nativeS)}  under cairn ${f3(r.cairnS)}  overhead ${pct(r.pairedOverhead)} (median of pairs; native launches spread ${(r.nativeSpread * 100).toFixed(1)}%)`);
  out.push(`  ${''.padEnd(16)} CPU:  native ${f3(r.nativeCpuS)}  under cairn ${f3(r.cairnCpuS)}  overhead ${pct(r.pairedCpuOverhead)} (median of pairs; native launches spread ${(r.nativeCpuSpread * 100).toFixed(1)}%)`);
  out.push(`  ${''.padEnd(16)} fastest of all ${runs * repeats} runs against the fastest native one: wall ${pct(r.fastestOverhead)}, CPU ${pct(r.fastestCpuOverhead)}`);
}
if (incremental) {
  const { full: f, incremental: i } = incremental;
  out.push(`Incremental (${incremental.mib} MiB, 1% of its pages written between checkpoints): full ${f.checkpointS.toFixed(3)} s, pause ${f.pauseS.toFixed(3)} s, ${mib(f.bytes)} on disk;`);
  out.push(`  incremental ${i.checkpointS.toFixed(3)} s, pause ${i.pauseS.toFixed(3)} s, ${mib(i.bytes)} on disk: ${((i.bytes / f.bytes) * 100).toFixed(2)}% of the full image`);
}
if (mpi) {
  out.push(`MPI across hosts (Open MPI, ${mpi.ranks} ranks on ${mpi.hosts} hosts, ${mib(mpi.bytes)}), median of ${mpi.runs}: checkpoint ${f3(mpi.checkpointS)} (pause ${f3(mpi.pauseS)});`);
  out.push(`  the slowest host's own image writing in it ${f3(mpi.slowestWriteS)} (${mpi.slowestHost}): ${ratio(mpi.checkpointS, mpi.slowestWriteS)}`);
}
for (const n of notes) out.push(`note: ${n}`);
console.log(out.join('\n'));
console.log(JSON.stringify({ cpus: os.cpus().length, kernel: os.release(), limits, matrix, codecs, gzipTool: gzip, threads, trivial, launch, runtime, incremental, mpi, notes }, null, 2));
