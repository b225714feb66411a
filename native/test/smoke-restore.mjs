// Smoke test of the engine's restore, through the addon as the agent uses it:
// launch restore_target, freeze, dump, kill, restore in a new namespace set with the same PID,
// and check that the output is byte for byte that of an uninterrupted run.
//
//   cd <scratch dir you own> && node <repo>/native/test/smoke-restore.mjs [case...]
//
// Cases: sleep (nanosleep at checkpoint), threads (4 workers: futex waits + nanosleep),
// read (blocked in read(0) on a pipe), spin (running user code), twice (threads, checkpointed
// and restored two times). Default: all.
// CAIRN_ADDON, CAIRN_NSINIT, CAIRN_RESTORER override the addon and helper paths (default
// native/build/Release and native/build/helpers).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const native = path.resolve(here, '..');
const root = path.resolve(native, '..');
const require = createRequire(import.meta.url);
const protobuf = require(path.join(root, 'node_modules', 'protobufjs'));
const { createEngine } = require(process.env.CAIRN_ADDON || path.join(native, 'build', 'Release', 'cairn_engine.node'));
const nsinitPath = process.env.CAIRN_NSINIT || path.join(native, 'build', 'helpers', 'cairn-nsinit');
const restorerPath = process.env.CAIRN_RESTORER || path.join(native, 'build', 'helpers', 'cairn-restorer');

const CASES = {
  sleep: { args: ['-n', '24', '-d', '50'], at: 500 },
  threads: { args: ['-t', '-n', '24', '-d', '50'], at: 500 },
  read: { args: ['-m', 'read', '-n', '24', '-d', '20'], at: 600, feed: true },
  spin: { args: ['-m', 'spin', '-n', '3000'], at: 300 },
  twice: { args: ['-t', '-n', '30', '-d', '50'], at: [400, 500] },   // a restored process checkpointed again
};

const ImageType = protobuf.loadSync(path.join(root, 'protos', 'image.proto')).lookupType('cairn.image.ProcessImage');
// The agent stores the image as protobuf and reads it back: do the same round trip.
function roundTrip(image) {
  const buf = ImageType.encode(ImageType.fromObject(image)).finish();
  const obj = ImageType.toObject(ImageType.decode(buf), { longs: String, enums: Number, bytes: Buffer, defaults: true, arrays: true, objects: true });
  return { obj, metaBytes: buf.length };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

function identity(fd) {
  const st = fs.fstatSync(fd, { bigint: true });
  return { dev: String(st.dev), ino: String(st.ino) };
}

// What the threads of pid are blocked in, from /proc (for the log: proves the case).
function syscallsOf(pid) {
  const names = { 0: 'read', 7: 'poll', 35: 'nanosleep', 202: 'futex', 230: 'clock_nanosleep' };
  try {
    return fs.readdirSync(`/proc/${pid}/task`).map((t) => {
      const s = fs.readFileSync(`/proc/${pid}/task/${t}/syscall`, 'utf8').trim().split(' ')[0];
      return names[s] ?? (s === 'running' ? 'running' : `syscall ${s}`);
    }).join(',');
  } catch (e) {
    return `? (${e.code})`;
  }
}

// Runs the target once; `checkpoint` decides whether it is dumped, killed and restored midway.
async function run(engine, target, name, c, dir, checkpoint) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const fifo = path.join(dir, 'stdin.fifo');
  execFileSync('mkfifo', [fifo]);
  const stdin = fs.openSync(fifo, fs.constants.O_RDWR);   // RDWR: never blocks, never sees EOF
  const stdout = fs.openSync(path.join(dir, 'stdout.txt'), 'w');
  const stderr = fs.openSync(path.join(dir, 'stderr.txt'), 'w');
  const stdio = [stdin, stdout, stderr];
  const env = ['PATH=/usr/bin:/bin', 'LC_ALL=C'];
  const info = {};
  let timeOffsets = { monotonicNs: '0', boottimeNs: '0' };
  try {
    let job = await engine.launch({ argv: [target, ...c.args], env, cwd: dir, stdio, nsinitPath });
    const ats = checkpoint ? [c.at].flat() : [];
    Object.assign(info, { dumpMs: [], restoreMs: [], imageBytes: 0 });
    for (const [k, at] of ats.entries()) {
      await sleep(at);
      info.blockedIn = syscallsOf(job.pid);
      let t0 = process.hrtime.bigint();
      const [frozen] = await engine.freeze([job.pid]);
      const imagePath = path.join(dir, `${name}-${k}.cimg`);
      const d = await engine.dump(job.pid, {
        imagePath,
        stdioIdentity: stdio.map(identity),
        timeOffsets,
      });
      info.dumpMs.push(ms(t0));
      info.threads = frozen.threads;
      await engine.kill(job);
      const { obj: image, metaBytes } = roundTrip(d.image);
      info.imageBytes = d.pagesEnd + metaBytes;
      await engine.verifyPages(imagePath, image);
      // As the agent does (file-checks.ts): output files go back to their checkpoint size.
      for (const f of image.fds)
        if (f.kind === 0 && (f.flags & 3) !== 0 && fs.statSync(f.path).size > Number(f.size)) fs.truncateSync(f.path, Number(f.size));
      // The job's clocks go on from where the checkpoint saw them.
      const now = engine.clocks();
      timeOffsets = {
        monotonicNs: String(BigInt(image.clocks.monotonicNs) - BigInt(now.monotonicNs)),
        boottimeNs: String(BigInt(image.clocks.boottimeNs) - BigInt(now.boottimeNs)),
      };
      t0 = process.hrtime.bigint();
      job = await engine.restore({
        image, imagePath, nsinitPath, restorerPath, logPath: path.join(dir, `restorer-${k}.log`),
        passFds: stdio, timeOffsets, hostname: image.hostname,
      });
      info.restoreMs.push(ms(t0));
    }
    if (c.feed) {
      await sleep(100);
      fs.writeSync(stdin, 'x');
    }
    const { status } = await engine.waitExit(job.helperPid);
    info.status = status;
  } finally {
    for (const fd of stdio) fs.closeSync(fd);
  }
  info.stdout = fs.readFileSync(path.join(dir, 'stdout.txt'), 'utf8');
  info.file = fs.readFileSync(path.join(dir, 'target-out.txt'), 'utf8');
  info.stderr = fs.readFileSync(path.join(dir, 'stderr.txt'), 'utf8');
  return info;
}

async function main() {
  const scratch = process.cwd();
  const target = path.join(scratch, 'restore_target');
  execFileSync('gcc', ['-O2', '-pthread', '-o', target, path.join(here, 'restore_target.c')]);
  const engine = createEngine();
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(CASES);
  let failed = 0;
  try {
    for (const name of names) {
      const c = CASES[name];
      if (!c) throw new Error(`unknown case ${name}`);
      const ref = await run(engine, target, name, c, path.join(scratch, `${name}-ref`), false);
      let got;
      try {
        got = await run(engine, target, name, c, path.join(scratch, `${name}-cr`), true);
      } catch (e) {
        failed++;
        console.log(`FAIL ${name}: ${e.message}`);
        continue;
      }
      const pidOf = (s) => (s.match(/^start pid=(\d+)/m) || [])[1];
      const donePid = (s) => (s.match(/^done pid=(\d+)/m) || [])[1];
      const same = got.stdout === ref.stdout && got.file === ref.file && got.status === ref.status && got.status === 0;
      if (!same) failed++;
      console.log(
        `${same ? 'ok  ' : 'FAIL'} ${name}: blocked in [${got.blockedIn}], ${got.threads} thread(s), ` +
          `dump ${got.dumpMs.map((x) => x.toFixed(1)).join('+')} ms, image ${(got.imageBytes / 1048576).toFixed(2)} MiB, ` +
          `restore ${got.restoreMs.map((x) => x.toFixed(1)).join('+')} ms, pid ${pidOf(ref.stdout)} -> ${donePid(got.stdout)}, ` +
          `${got.stdout.split('\n').length - 1} lines, status ${got.status}` +
          (same ? '' : `\n  ref status ${ref.status}, stderr: ${got.stderr.trim()}\n  --- expected tail:\n${ref.stdout.slice(-200)}\n  --- got tail:\n${got.stdout.slice(-200)}`),
      );
    }
  } finally {
    engine.close();
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
