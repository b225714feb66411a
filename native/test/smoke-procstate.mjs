// Process-level state (pending signals, timers, attributes) through the addon as the agent
// uses it, image round-tripped through protos/image.proto: launch procstate_target, then
// twice freeze, dump, kill, restore; feed it one byte; it checks itself (exit 0 = all kept).
//
//   cd <scratch dir you own> && node <repo>/native/test/smoke-procstate.mjs [nodump]
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
const { createEngine } = require(path.join(native, 'build', 'Release', 'cairn_engine.node'));
const nsinitPath = path.join(native, 'build', 'helpers', 'cairn-nsinit');
const restorerPath = path.join(native, 'build', 'helpers', 'cairn-restorer');
const ImageType = protobuf.loadSync(path.join(root, 'protos', 'image.proto')).lookupType('cairn.image.ProcessImage');
const roundTrip = (image) => ImageType.toObject(ImageType.decode(ImageType.encode(ImageType.fromObject(image)).finish()),
  { longs: String, enums: Number, bytes: Buffer, defaults: true, arrays: true, objects: true });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const identity = (fd) => { const st = fs.fstatSync(fd, { bigint: true }); return { dev: String(st.dev), ino: String(st.ino) }; };

const dir = process.cwd();
const target = path.join(dir, 'procstate_target');
execFileSync('gcc', ['-O2', '-pthread', '-o', target, path.join(here, 'procstate_target.c')]);
fs.rmSync(path.join(dir, 'stdin.fifo'), { force: true });
execFileSync('mkfifo', [path.join(dir, 'stdin.fifo')]);
const stdin = fs.openSync(path.join(dir, 'stdin.fifo'), fs.constants.O_RDWR);
const stdout = fs.openSync(path.join(dir, 'stdout.txt'), 'w');
const stdio = [stdin, stdout, stdout];
const engine = createEngine();
let job = await engine.launch({ argv: [target, ...process.argv.slice(2)], env: ['PATH=/usr/bin:/bin'], cwd: dir, stdio, nsinitPath });
let timeOffsets = { monotonicNs: '0', boottimeNs: '0' };
for (let k = 0; k < 2; k++) {
  await sleep(400);
  await engine.freeze([job.pid]);
  const imagePath = path.join(dir, `ps-${k}.cimg`);
  const d = await engine.dump(job.pid, { imagePath, stdioIdentity: stdio.map(identity), timeOffsets });
  await engine.kill(job);
  const image = roundTrip(d.image);
  const t = image.threads;
  console.log(`dump ${k}: sharedPending=${image.sharedPending.map((s) => s.sig)} ` +
    `threadPending=${t.map((x) => x.pending.map((s) => s.sig).join('+')).join('|')} itimers=${image.itimers.length} ` +
    `posixTimers=${image.posixTimers.map((p) => p.id)} personality=0x${image.personality.toString(16)} ` +
    `nonDumpable=${image.nonDumpable} comm=${t.map((x) => x.comm)} nice=${t.map((x) => x.nice)} nnp=${t.map((x) => x.noNewPrivs)}`);
  const now = engine.clocks();
  timeOffsets = {
    monotonicNs: String(BigInt(image.clocks.monotonicNs) - BigInt(now.monotonicNs)),
    boottimeNs: String(BigInt(image.clocks.boottimeNs) - BigInt(now.boottimeNs)),
  };
  job = await engine.restore({ image, imagePath, nsinitPath, restorerPath, logPath: path.join(dir, `ps-${k}.log`),
    passFds: stdio, timeOffsets, hostname: image.hostname });
}
await sleep(200);
fs.writeSync(stdin, 'x');
const { status } = await engine.waitExit(job.helperPid);
engine.close();
const out = fs.readFileSync(path.join(dir, 'stdout.txt'), 'utf8');
console.log(out.split('\n').filter((l) => !/^(ok|ID|signal|notify|Clock)/.test(l)).join('\n'));
console.log(`${status === 0 ? 'ok  ' : 'FAIL'} procstate: status ${status}`);
process.exitCode = status === 0 ? 0 : 1;
