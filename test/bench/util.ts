// Small measuring tools of the benchmark: clocks, medians, the disk's own speed (dd), memory.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function seconds(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export async function secondsAsync(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Limits {
  /** dd of the same bytes, fsynced (conv=fsync: through the page cache). */
  ddFsyncS: number;
  /** dd with O_DIRECT: the disk itself (cairn writes page data so). */
  ddDirectS: number;
  /** The write limit: the faster of the two. */
  writeS: number;
  /** dd reading them back from the page cache (the fastest read there is, not a disk read). */
  readS: number;
  /** dd iflag=direct: the disk's own read speed for these bytes. */
  readDiskS: number;
  /** Reading them from the disk into fresh memory by parallel 64 MiB reads, each range
   * populated first (MADV_POPULATE_WRITE), as a restart must (an image written with O_DIRECT
   * is not in the page cache): with O_DIRECT reads, as cairn's restore reads pages, and
   * buffered; each with 2 and 8 threads, the fastest. workload readin FILE THREADS [buffered]. */
  readInDirectS: number;
  readInBufferedS: number;
  /** The restart's limit: the faster of the two. */
  readInS: number;
  /** An idle process holding as much touched memory, woken from a blocking read: the median
   * and the longest time until it runs again (`wake MiB ROUNDS GAP_MS`). Every pause ends
   * with such a return to user mode; on a bare kernel it takes microseconds, but some
   * hypervisors rebuild a slept process's page tables then (~10 ms per GiB seen here). */
  wakeMedianS?: number;
  wakeMaxS?: number;
}

/** The wake-up time of an idle process of `mib` MiB: 8 wakes, 1 s apart. */
export function wakeLimit(wake: string, mib: number): { wakeMedianS: number; wakeMaxS: number } {
  const out = execFileSync(wake, [String(mib), '8', '1000'], { encoding: 'utf8' });
  const s = [...out.matchAll(/wake_ns (\d+)/g)].map((m) => Number(m[1]) / 1e9).sort((a, b) => a - b);
  if (s.length === 0) throw new Error(`wake ${mib}: no measurement in ${JSON.stringify(out)}`);
  return { wakeMedianS: s[Math.floor(s.length / 2)]!, wakeMaxS: s[s.length - 1]! };
}

/** Reads in flight when reading into fresh memory: a virtual disk reads faster with more of
 * them than there are CPUs (a restorer reads with as many threads, PLAN_FILL_HELPERS + 1). */
const READIN_THREADS = [Math.max(2, os.cpus().length), 8];

/** Seconds to read `files` (not in the page cache: an image is written O_DIRECT) into fresh
 * memory as the restart's limit does: parallel O_DIRECT reads, each range populated first. */
export function readInFiles(workload: string, files: string[]): number {
  return files.reduce((total, f) => total + readIn(workload, f, Math.max(...READIN_THREADS)), 0);
}

/** Seconds of `workload readin FILE THREADS [buffered]`: `file` into fresh memory. */
function readIn(workload: string, file: string, threads: number, ...how: string[]): number {
  const out = path.join(os.tmpdir(), `cairn-bench-readin-${process.pid}.txt`);
  try {
    execFileSync(workload, [out, 'readin', file, String(threads), ...how], { stdio: 'ignore' });
    return Number(/elapsed_ns (\d+)/.exec(fs.readFileSync(out, 'utf8'))![1]) / 1e9;
  } finally {
    fs.rmSync(out, { force: true });
  }
}

/** The physical limits for `mib` MiB in `dir`. */
export function dd(dir: string, mib: number, workload: string): Limits {
  const f = path.join(dir, 'dd.bench');
  const count = `count=${Math.ceil(mib / 4)}`;
  try {
    const ddDirectS = seconds(() => execFileSync('dd', ['if=/dev/zero', `of=${f}`, 'bs=4M', count, 'oflag=direct', 'conv=fsync'], { stdio: 'ignore' }));
    fs.rmSync(f);
    const ddFsyncS = seconds(() => execFileSync('dd', ['if=/dev/zero', `of=${f}`, 'bs=4M', count, 'conv=fsync'], { stdio: 'ignore' }));
    const readS = seconds(() => execFileSync('dd', [`if=${f}`, 'of=/dev/null', 'bs=4M'], { stdio: 'ignore' }));
    fs.rmSync(f);
    // The reads from the disk: random bytes (no layer below can shortcut them), written
    // O_DIRECT (untimed) so that they are not in the page cache.
    const src = path.join(dir, 'dd.src');
    execFileSync('dd', ['if=/dev/urandom', `of=${src}`, 'bs=4M', 'count=1'], { stdio: 'ignore' });
    execFileSync('sh', ['-c', `for i in $(seq ${Math.ceil(mib / 4)}); do cat "$1"; done | dd of="$2" bs=4M iflag=fullblock oflag=direct`, 'sh', src, f], { stdio: 'ignore' });
    fs.rmSync(src);
    // The fastest of each way with each number of reads in flight.
    const fastest = (...how: string[]) => Math.min(...READIN_THREADS.map((n) => readIn(workload, f, n, ...how)));
    const readInDirectS = fastest();
    const readInBufferedS = fastest('buffered');
    const readDiskS = seconds(() => execFileSync('dd', [`if=${f}`, 'of=/dev/null', 'bs=4M', 'iflag=direct'], { stdio: 'ignore' }));
    return { ddFsyncS, ddDirectS, writeS: Math.min(ddFsyncS, ddDirectS), readS, readDiskS, readInDirectS, readInBufferedS, readInS: Math.min(readInDirectS, readInBufferedS) };
  } finally {
    fs.rmSync(f, { force: true });
  }
}

/** MemAvailable of /proc/meminfo, bytes. */
export function availableMemory(): number {
  const m = /MemAvailable:\s+(\d+) kB/.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Bytes the files of a directory take on disk (holes excluded) and their apparent size. */
export function diskUsage(dir: string): { apparent: number; onDisk: number } {
  let apparent = 0;
  let onDisk = 0;
  for (const f of fs.readdirSync(dir)) {
    const st = fs.statSync(path.join(dir, f));
    if (!st.isFile()) continue;
    apparent += st.size;
    onDisk += st.blocks * 512;
  }
  return { apparent, onDisk };
}

export const MiB = 2 ** 20;

export interface GzipTool {
  /** `gzip -1` itself (one thread: what DMTCP pipes its images through) compressing the same
   * bytes from the page cache into the same directory, fsynced. */
  gzipS: number;
  gzipRatio: number;
}

/** gzip -1 on `mib` MiB of bigmem's byte pattern, in `dir`. (zstd's own tool is no yardstick
 * here: on these bytes as they lie in memory its fastest level finds only short repeats,
 * ratio ~8, where the same bytes behind a frame's 12-byte header give ~480.) */
export function gzipTool(dir: string, mib: number): GzipTool {
  const f = path.join(dir, 'pattern.bench');
  const chunk = Buffer.alloc(64 * MiB);
  // bigmem's pattern: 64-bit word i holds the byte i & 0xff eight times.
  for (let j = 0; j < chunk.length; j++) chunk[j] = (j >> 3) & 0xff;
  try {
    const fd = fs.openSync(f, 'w');
    for (let left = mib * MiB; left > 0; left -= chunk.length) fs.writeSync(fd, chunk, 0, Math.min(left, chunk.length));
    fs.closeSync(fd);
    execFileSync('cat', [f], { stdio: 'ignore' });   // in the page cache, as memory is
    const time = (cmd: string) => seconds(() => execFileSync('sh', ['-c', cmd, 'sh', f], { stdio: 'ignore' }));
    const gzipS = time('gzip -1 -c "$1" > "$1.gz" && sync "$1.gz"');
    return { gzipS, gzipRatio: (mib * MiB) / fs.statSync(`${f}.gz`).size };
  } finally {
    for (const s of ['', '.gz']) fs.rmSync(f + s, { force: true });
  }
}
