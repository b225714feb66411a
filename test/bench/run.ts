// npm run bench: checkpoint and restart of 64 MiB and 1 GiB processes, each figure beside
// the physical limit measured in the same run: dd writing (and reading) the same number
// of bytes in the same directory. Prints a table, then the JSON.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cairn, readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { program } from '../helpers/programs.js';

interface Row {
  mib: number;
  checkpointS: number;
  pauseS: number;
  imageBytes: number;
  ddWriteS: number;
  restartS: number;
  ddReadS: number;
}

function seconds(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function dd(dir: string, mib: number): { write: number; read: number } {
  const f = path.join(dir, 'dd.bench');
  const write = seconds(() => execFileSync('dd', ['if=/dev/zero', `of=${f}`, 'bs=4M', `count=${mib / 4}`, 'conv=fsync'], { stdio: 'ignore' }));
  const read = seconds(() => execFileSync('dd', [`if=${f}`, 'of=/dev/null', 'bs=4M'], { stdio: 'ignore' }));
  fs.rmSync(f);
  return { write, read };
}

async function measure(mib: number): Promise<Row> {
  const job = new TestJob(`bench${mib}`);
  try {
    job.launch([program('bigmem'), 'out.txt', String(mib), 'random', '1000000', '1000']);
    const s = await job.running();
    await waitFor('memory filled', () => readIf(path.join(job.work, 'out.txt')).includes('ready'), 120_000);
    const cp = await job.command('--bcheckpoint', '--json');
    if (cp.code !== 0) throw new Error(cp.stderr);
    const reply = JSON.parse(cp.stdout) as { durationUs: string; pauseUs: string; bytes: string };
    const limits = dd(s.ckptDir, mib);
    await job.killAll(s);
    await job.launcher!.exited;
    fs.rmSync(job.portFile, { force: true });
    const restarted = cairn(['restart', '--coord-port', '0', '--port-file', job.portFile, s.ckptDir], { cwd: job.work });
    await job.running();
    await job.command('--kill');
    const r = await restarted;
    const m = /restored .* in ([\d.]+) ms/.exec(r.stderr);
    if (!m) throw new Error(`restart did not report: ${r.stderr}`);
    const restartS = Number(m[1]) / 1000;
    return {
      mib,
      checkpointS: Number(reply.durationUs) / 1e6,
      pauseS: Number(reply.pauseUs) / 1e6,
      imageBytes: Number(reply.bytes),
      ddWriteS: limits.write,
      restartS,
      ddReadS: limits.read,
    };
  } finally {
    await job.cleanup();
  }
}

const rows: Row[] = [];
for (const mib of [64, 1024]) rows.push(await measure(mib));
const f = (x: number) => x.toFixed(3);
console.log('size      checkpoint  dd write  ratio | restart  dd read  ratio | pause    image');
for (const r of rows) {
  console.log(
    `${String(r.mib).padStart(5)} MiB  ${f(r.checkpointS).padStart(8)} s ${f(r.ddWriteS).padStart(7)} s ${(r.checkpointS / r.ddWriteS).toFixed(2).padStart(5)}x | ` +
      `${f(r.restartS).padStart(6)} s ${f(r.ddReadS).padStart(6)} s ${(r.restartS / r.ddReadS).toFixed(2).padStart(5)}x | ${f(r.pauseS)} s ${(r.imageBytes / 2 ** 20).toFixed(1)} MiB`,
  );
}
console.log('(dd read is from the page cache: an unprivileged user cannot drop it)');
console.log(JSON.stringify({ rows }, null, 2));
