// npm run demo: what a user does, shown step by step. A counting program is launched under
// cairn with a checkpoint every second, killed with kill -9 (program and coordinator, as a
// power cut would), and brought back with cairn_restart.sh; its output file ends exactly
// as if nothing had happened. As root, it runs everything as the unprivileged test user.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cairn = path.join(root, 'bin', 'cairn.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let uid, gid, home;
if (process.getuid() === 0) {
  const user = process.env.CAIRN_TEST_USER ?? 'cairntest';
  if (spawnSync('getent', ['passwd', user]).status !== 0) execFileSync('useradd', ['-m', '-s', '/bin/bash', user]);
  const f = execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).trim().split(':');
  [uid, gid, home] = [Number(f[2]), Number(f[3]), f[5]];
  console.log(`(running as root: the demo runs as the ordinary user ${user})`);
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-demo-'));
fs.chmodSync(dir, 0o755);
const own = (p) => uid !== undefined && fs.chownSync(p, uid, gid);
own(dir);
const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home ?? os.homedir(), LANG: 'C' };
const opts = (cwd, stdio = 'inherit') => ({ cwd, env, stdio, ...(uid !== undefined ? { uid, gid } : {}) });
const show = (cwd, args) => console.log(`\n$ ${cwd === dir ? '' : `cd ${path.relative(dir, cwd) || '.'} && `}${args.join(' ')}`);
const prog = path.join(dir, 'counter');
execFileSync('gcc', ['-O2', '-o', prog, path.join(root, 'test', 'programs', 'counter.c')]);
own(prog);
const ckpt = path.join(dir, 'ckpt');
fs.mkdirSync(ckpt);
own(ckpt);
const out = path.join(dir, 'out.txt');
const lines = () => (fs.existsSync(out) ? fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).length : 0);

try {
  console.log(`demo directory: ${dir}`);
  const launchArgs = ['launch', '--new-coordinator', '--coord-port', '0', '--port-file', 'port.txt', '-i', '1', '--ckptdir', 'ckpt', './counter', 'out.txt', '40', '200'];
  show(dir, ['cairn', ...launchArgs, '&']);
  const launcher = spawn(process.execPath, [cairn, ...launchArgs], opts(dir));
  while (lines() < 15) await sleep(100);
  await sleep(300);
  const st = JSON.parse(execFileSync(process.execPath, [cairn, 'command', '--port-file', 'port.txt', '--ckptdir', 'ckpt', '-s', '--json'], opts(dir, 'pipe')).toString());
  show(dir, ['cairn', 'command', '--port-file', 'port.txt', '--ckptdir', 'ckpt', '--status']);
  spawnSync(process.execPath, [cairn, 'command', '--port-file', 'port.txt', '--ckptdir', 'ckpt', '--status'], opts(dir));
  const list = JSON.parse(execFileSync(process.execPath, [cairn, 'command', '--port-file', 'port.txt', '--ckptdir', 'ckpt', '-l', '--json'], opts(dir, 'pipe')).toString());
  const pid = list.member[0].processes[0].hostPid;
  console.log(`\n${lines()} of 40 lines written; power cut: kill -9 of the program (pid ${pid}) and its coordinator (pid ${st.coordinatorPid})`);
  process.kill(pid, 'SIGKILL');
  process.kill(st.coordinatorPid, 'SIGKILL');
  await new Promise((r) => launcher.on('close', r));
  show(dir, ['ls', 'ckpt', `ckpt/${st.jobId}`]);
  spawnSync('ls', ['-l', 'ckpt', `ckpt/${st.jobId}`], opts(dir));
  show(ckpt, ['./cairn_restart.sh']);
  const r = spawnSync('./cairn_restart.sh', [], opts(ckpt));
  const text = fs.readFileSync(out, 'utf8');
  const steps = [...text.matchAll(/^step (\d+) pid (\d+)/gm)];
  const ok = r.status === 0 && steps.length === 40 && steps.every((m, i) => Number(m[1]) === i && m[2] === '2') && text.endsWith('done pid 2\n');
  console.log(`\nout.txt: ${steps.length} steps, each exactly once, all written by pid ${[...new Set(steps.map((m) => m[2]))].join(',')} -> ${ok ? 'OK' : 'WRONG'}`);
  process.exitCode = ok ? 0 : 1;
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
