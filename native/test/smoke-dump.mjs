// Smoke test of the engine's launch / freeze / dump / thaw / waitExit, as an ordinary user.
//
//   node native/test/smoke-dump.mjs COUNTER_BINARY [SCRATCH_DIR]
//
// COUNTER_BINARY is native/test/counter.c compiled (cc -O2 -pthread). Each scenario launches
// it through the engine, freezes it after 1 s, dumps it to an image, thaws it, and checks
// that it runs on to the same output and exit status as an undisturbed run.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const native = path.resolve(here, '..');
const require = createRequire(import.meta.url);
const { createEngine } = require(path.join(native, 'build', 'Release', 'cairn_engine.node'));
const nsinitPath = path.join(native, 'build', 'helpers', 'cairn-nsinit');

const counter = process.argv[2] && path.resolve(process.argv[2]);
if (!counter) {
  console.error('usage: smoke-dump.mjs COUNTER_BINARY [SCRATCH_DIR]');
  process.exit(2);
}
const scratch = process.argv[3] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-smoke-'));
const engine = createEngine();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

function identity(fd) {
  if (fd < 0) return null;
  const st = fs.fstatSync(fd, { bigint: true });
  return { dev: String(st.dev), ino: String(st.ino) };
}

function summary(image) {
  const runs = image.vmas.reduce((n, v) => n + v.runs.length, 0);
  const kinds = image.vmas.reduce((m, v) => ((m[v.kind] = (m[v.kind] ?? 0) + 1), m), {});
  return `threads=${image.threads.length} vmas=${image.vmas.length} (anon ${kinds[0] ?? 0}, file-private ${kinds[1] ?? 0}, ` +
    `file-shared ${kinds[2] ?? 0}, stack ${kinds[3] ?? 0}) runs=${runs} bytes=${image.pagesBytes} ` +
    `fds=${image.fds.map((f) => `${f.fd}:${['file', 'inherited', 'dev', 'dir'][f.kind]}`).join(',')} ` +
    `sigactions=${image.sigactions.length} nsPid=${image.nsPid} nsPpid=${image.nsPpid} hostname=${image.hostname} ` +
    `brk=0x${BigInt(image.mm.brk).toString(16)} xstate=${image.threads[0].xstate.length}B`;
}

// One scenario: launch, wait, freeze, dump, thaw, (poke), wait for the end, compare.
async function scenario(name, args, { expectStatus, expectOut, poke, stdinFd = -1, waitMs = 1000 }) {
  const outPath = path.join(scratch, `${name}.out`);
  const out = fs.openSync(outPath, 'w');
  const devnull = fs.openSync('/dev/null', 'r');
  const stdin = stdinFd >= 0 ? stdinFd : devnull;
  const image = path.join(scratch, `${name}.cimg`);
  let job;
  try {
    job = await engine.launch({
      argv: [counter, ...args], env: ['PATH=/usr/bin:/bin', 'LANG=C'], cwd: scratch,
      stdio: [stdin, out, out], nsinitPath,
    });
    const exit = engine.waitExit(job.helperPid);
    await sleep(waitMs);
    let t0 = process.hrtime.bigint();
    const frozen = await engine.freeze([job.pid]);
    const tFreeze = ms(t0);
    t0 = process.hrtime.bigint();
    const { image: img, pagesEnd, timing } = await engine.dump(job.pid, {
      imagePath: image,
      stdioIdentity: [identity(stdin), null, null],
      timeOffsets: { monotonicNs: '0', boottimeNs: '0' },
    });
    const tDump = ms(t0);
    t0 = process.hrtime.bigint();
    await engine.thaw([job.pid]);
    const tThaw = ms(t0);
    if (poke) await poke();
    const { status } = await exit;
    const got = fs.readFileSync(outPath, 'utf8');
    const size = fs.statSync(image).size;
    const okPages = size === pagesEnd && pagesEnd === 4096 + Number(img.pagesBytes);
    const ok = status === expectStatus && got === expectOut && okPages && frozen[0].threads === img.threads.length;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: status=${status} threads=${frozen[0].threads} ` +
      `freeze=${tFreeze.toFixed(2)}ms dump=${tDump.toFixed(1)}ms (state ${timing.stateMs.toFixed(1)}, memory ` +
      `${timing.memoryMs.toFixed(1)}) thaw=${tThaw.toFixed(2)}ms image=${size}B`);
    console.log(`     ${summary(img)}`);
    if (!ok) {
      if (status !== expectStatus) console.log(`     expected status ${expectStatus}`);
      if (got !== expectOut) console.log(`     output differs:\n--- got\n${got}--- expected\n${expectOut}---`);
      if (!okPages) console.log(`     image size ${size}, pagesEnd ${pagesEnd}, pagesBytes ${img.pagesBytes}`);
    }
    job = undefined;
    return ok;
  } catch (e) {
    console.log(`FAIL ${name}: ${e.message}`);
    if (job) await engine.kill(job).catch((k) => console.log(`     kill: ${k.message}`));
    return false;
  } finally {
    fs.closeSync(out);
    fs.closeSync(devnull);
  }
}

function countOutput(iters, threads) {
  let s = `start pid=2 threads=${threads + 1}\n`;
  for (let i = 0; i < iters; i++) s += `tick ${i} counter=${i + 1}\n`;
  return s + `done counter=${iters} total=${threads * 40} expected=${threads * 40} heap=ok\n`;
}

const results = [];
results.push(await scenario('count', ['count', '30', '0'], { expectStatus: 3, expectOut: countOutput(30, 0) }));
results.push(await scenario('count-8threads', ['count', '30', '7'], { expectStatus: 3, expectOut: countOutput(30, 7) }));
results.push(await scenario('nanosleep', ['sleep', '3000'], { expectStatus: 0, expectOut: 'sleeping pid=2\nslept r=0 full\n' }));
results.push(await scenario('futex', ['futex', '2500'], { expectStatus: 0, expectOut: 'waiting pid=2\nwoken\n' }));
{
  // read(0) on a FIFO that stands for the agent's stdin (so it is saved as FD_INHERITED).
  const fifo = path.join(scratch, 'stdin.fifo');
  fs.rmSync(fifo, { force: true });
  execFileSync('mkfifo', [fifo]);
  const fd = fs.openSync(fifo, fs.constants.O_RDWR);
  results.push(await scenario('read', ['read'], {
    expectStatus: 0, expectOut: 'reading pid=2\ngot hello\n', stdinFd: fd,
    poke: async () => { await sleep(300); fs.writeSync(fd, 'hello\n'); },
  }));
  fs.closeSync(fd);
}
{
  // A dump that must be refused: a socket the launcher did not hand over.
  const t = await (async () => {
    const out = fs.openSync(path.join(scratch, 'refuse.out'), 'w');
    const job = await engine.launch({
      argv: ['/usr/bin/python3', '-c', 'import socket,time; s=socket.socket(); time.sleep(30)'],
      env: ['PATH=/usr/bin:/bin'], cwd: scratch, stdio: [out, out, out], nsinitPath,
    }).catch(() => null);
    if (!job) return 'skipped (no python3)';
    await sleep(800);
    await engine.freeze([job.pid]);
    const msg = await engine.dump(job.pid, { imagePath: path.join(scratch, 'refuse.cimg'), stdioIdentity: [null, null, null],
      timeOffsets: { monotonicNs: '0', boottimeNs: '0' } }).then(() => 'dump unexpectedly succeeded', (e) => e.message);
    await engine.kill(job);
    fs.closeSync(out);
    return msg;
  })();
  const ok = /fd \d+ is socket:\[\d+\]: sockets are not supported yet/.test(t);
  console.log(`${ok ? 'ok  ' : 'FAIL'} refuse-socket: ${t}`);
  results.push(ok);
}
console.log(`clocks: ${JSON.stringify(engine.clocks())}`);
console.log(`crc32c("123456789") = 0x${engine.crc32c(Buffer.from('123456789')).toString(16)} (expect 0xe3069283)`);
const passed = results.filter(Boolean).length;
console.log(`${passed}/${results.length} scenarios passed (scratch: ${scratch})`);
process.exitCode = passed === results.length ? 0 : 1;
// No engine.close(): an idle engine must not keep node alive; the process exits by itself.
