// npm test: the whole ava suite. As root, the end-to-end tests run cairn and the jobs as
// the dedicated test user (created here if missing); afterwards nothing of that user may
// still be running.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const user = process.env.CAIRN_TEST_USER ?? 'cairntest';
const die = (msg) => {
  console.error(`npm test: ${msg}`);
  process.exit(1);
};

for (const f of ['dist/cli/main.js', 'native/build/Release/cairn_engine.node', 'native/build/helpers/cairn-nsinit', 'native/build/helpers/cairn-restorer']) {
  if (!fs.existsSync(path.join(root, f))) die(`${f} is missing: run npm install first`);
}

const leftovers = () => {
  if (process.getuid() !== 0) return [];
  const r = spawnSync('ps', ['-u', user, '-o', 'pid=,stat=,args='], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim() && !/\sZ/.test(l.slice(0, 16)));
};

if (process.getuid() === 0) {
  if (spawnSync('getent', ['passwd', user]).status !== 0) {
    execFileSync('useradd', ['-m', '-s', '/bin/bash', user], { stdio: 'inherit' });
  }
  const probe = spawnSync('runuser', ['-u', user, '--', 'test', '-r', path.join(root, 'dist/cli/main.js'), '-a', '-x', path.join(root, 'native/build/helpers/cairn-nsinit')]);
  if (probe.status !== 0) die(`the test user ${user} cannot read ${root}: put the checkout where other users can read it`);
  const before = leftovers();
  if (before.length) die(`processes of ${user} are already running; end them first:\n${before.join('\n')}`);
}

// The multi-host test bed (test/testbed/cluster.sh) needs root to come up; its ssh keys
// and config are set up for the test user, so the tests ssh as that user. Without root it
// must already be up (the multi-host tests fail loudly otherwise).
const cluster = path.join(root, 'test/testbed/cluster.sh');
const clusterEnv = { ...process.env, CLUSTER_USER: user };
let clusterStarted = false;
if (process.getuid() === 0 && process.env.CAIRN_NO_TESTBED !== '1') {
  const up = spawnSync(cluster, ['up'], { stdio: 'inherit', env: clusterEnv });
  if (up.status !== 0) die('the multi-host test bed did not come up (test/testbed/cluster.sh up)');
  clusterStarted = true;
}

// ava's own summary is echoed as it comes, and condensed into the plain closing line
// 'N passed, N failed' that CI reads.
const { spawn } = await import('node:child_process');
const ava = spawn(process.execPath, [path.join(root, 'node_modules/ava/entrypoints/cli.mjs'), ...process.argv.slice(2)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
let text = '';
ava.stdout.on('data', (d) => { text += d; process.stdout.write(d); });
ava.stderr.on('data', (d) => { text += d; process.stderr.write(d); });
let status = await new Promise((resolve) => ava.on('close', (code) => resolve(code ?? 1)));
const count = (re) => Number(re.exec(text)?.[1] ?? 0);
// Verbose ava marks each test: ✔ passed, ✘ failed, ◌ pending at a timeout.
const marks = (m) => text.split('\n').filter((l) => l.trimStart().startsWith(m)).length;
const passed = marks('✔');
const failed = marks('✘') + marks('◌') + count(/(\d+) uncaught exceptions?/) + count(/(\d+) unhandled rejections?/);
if (status !== 0 && failed === 0) console.log('ava exited with an error before reporting its tests');
if (clusterStarted) spawnSync(cluster, ['down'], { stdio: 'inherit', env: clusterEnv });
const left = leftovers();
// Tests kill agents with SIGKILL (a lost node, a power cut): their socket directories stay
// until the user's next agent on that host removes them; so do the session directories of
// the mpirun they kill (ompi.HOST.UID). When no process of the test user is left, none of
// them is in use: they go.
if (process.getuid() === 0 && left.length === 0) {
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }));
  for (const n of fs.readdirSync('/tmp').filter((n) => n.startsWith('cairn-agent-') || n.startsWith('ompi.'))) {
    const dir = path.join('/tmp', n);
    if (fs.lstatSync(dir).uid === uid) fs.rmSync(dir, { recursive: true, force: true });
  }
}
if (left.length) {
  console.error(`npm test: the tests left processes of ${user} running:\n${left.join('\n')}`);
  status = status || 1;
}
console.log(`${passed} passed, ${failed + (status && !failed ? 1 : 0)} failed`);
process.exit(status);
