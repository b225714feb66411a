// CLOCK_MONOTONIC and CLOCK_BOOTTIME are continuous across a restart (the outage does
// not show), and launch finds or starts its coordinator from the environment as DMTCP does.
import test from 'ava';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { cairn, cairnBackground, readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { program } from '../helpers/programs.js';

test('clocks continue across a 3 s outage instead of jumping', async (t) => {
  const job = new TestJob('clock');
  t.teardown(() => job.cleanup());
  const out = path.join(job.work, 'out.txt');
  const launcher = job.launch([program('clock'), 'out.txt', '60', '100']);
  const s = await job.running();
  await waitFor('some ticks', () => readIf(out).split('\n').length > 10, 10_000);
  t.is((await job.command('--bcheckpoint')).code, 0);
  await job.killAll(s);
  await launcher.exited;
  await new Promise((r) => setTimeout(r, 3000));
  const r = await job.restartScript().exited;
  t.is(r.code, 0, r.stderr);
  const rows = readIf(out).trim().split('\n').map((l) => l.split(' ').map(Number));
  t.deepEqual(rows.map((x) => x[0]), [...Array(60).keys()], 'every tick once, in order');
  let worstMono = 0;
  let worstBoot = 0;
  for (let i = 1; i < rows.length; i++) {
    worstMono = Math.max(worstMono, rows[i]![1]! - rows[i - 1]![1]!);
    worstBoot = Math.max(worstBoot, rows[i]![2]! - rows[i - 1]![2]!);
    t.true(rows[i]![1]! >= rows[i - 1]![1]!, 'monotonic never goes back');
  }
  t.true(worstMono < 1500, `largest CLOCK_MONOTONIC step ${worstMono} ms (outage was > 3000 ms)`);
  t.true(worstBoot < 1500, `largest CLOCK_BOOTTIME step ${worstBoot} ms`);
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

test('launch without --new-coordinator starts one at CAIRN_COORD_PORT; DMTCP_ variables work too', async (t) => {
  const job = new TestJob('defaults');
  t.teardown(() => job.cleanup());
  const port = String(await freePort());
  const env = { CAIRN_COORD_PORT: port, CAIRN_CHECKPOINT_DIR: job.ckpt };
  const b = cairnBackground(['launch', program('counter'), 'out.txt', '100', '100'], { cwd: job.work, env });
  t.teardown(() => b.stop());
  await waitFor('the coordinator', () => fs.existsSync(path.join(job.ckpt, '.cairn-secret')), 20_000);
  let status = await cairn(['command', '-s'], { cwd: job.work, env });
  for (let i = 0; i < 100 && !/Members: +1/.test(status.stdout); i++) {
    await new Promise((r) => setTimeout(r, 200));
    status = await cairn(['command', '-s'], { cwd: job.work, env });
  }
  t.regex(status.stdout, new RegExp(`Coordinator: localhost:${port}`));
  t.regex(status.stdout, /Members: +1/);
  const dmtcpEnv = { DMTCP_COORD_PORT: port, DMTCP_CHECKPOINT_DIR: job.ckpt };
  const cp = await cairn(['command', '--bcheckpoint'], { cwd: job.work, env: dmtcpEnv });
  t.is(cp.code, 0, cp.stderr);
  const jobDir = fs.readdirSync(job.ckpt).find((d) => fs.existsSync(path.join(job.ckpt, d, 'latest')))!;
  const gen = path.join(job.ckpt, jobDir, 'gen-000001');
  for (const f of fs.readdirSync(gen)) t.is(fs.statSync(path.join(gen, f)).mode & 0o077, 0, `${f} is private to the user`);
  const list = await cairn(['command', '-l', '--json'], { cwd: job.work, env });
  const hostPid = (JSON.parse(list.stdout) as { member: Array<{ processes: Array<{ hostPid: number }> }> }).member[0]!.processes[0]!.hostPid;
  job.remember(hostPid);
  t.is((await cairn(['command', '--quit'], { cwd: job.work, env })).code, 0);
  t.is((await b.exited).code, 137);
});
