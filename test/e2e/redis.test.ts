// redis-server (Debian's) and a client in one job, talking over a UNIX socket: the client
// writes 100k numbered keys and reads them back. Checkpointed mid-run (both processes, the
// connection with whatever is queued in it), killed with the coordinator, restarted: no key
// lost or duplicated, and the client finishes with the output of an uninterrupted run.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../common/paths.js';
import { readIf, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { uninterruptedOutput } from './reference.js';

let client = '';
let dir = '';
test.before(() => {
  if (!fs.existsSync('/usr/bin/redis-server')) throw new Error('/usr/bin/redis-server is missing: install redis-server (scripts/setup-debian.sh)');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-redis-'));
  fs.chmodSync(dir, 0o755);
  client = path.join(dir, 'redis_client.py');
  fs.copyFileSync(path.join(projectRoot(), 'test', 'programs', 'redis_client.py'), client);
  fs.chmodSync(client, 0o644);
});
test.after.always(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function job(): string[] {
  const script = [
    'redis-server --port 0 --unixsocket "$PWD/redis.sock" --save "" --appendonly no --logfile "" > redis.log 2>&1 &',
    'until [ -S redis.sock ]; do sleep 0.05; done',
    `/usr/bin/python3 ${client} redis.sock 100000 > out.txt`,
    'status=$?; kill $!; wait; echo "client exit $status" >> out.txt',
  ].join('\n');
  return ['/bin/bash', '-c', script];
}

test.serial('redis-server and a client writing 100k keys come back mid-run; no key lost or duplicated', async (t) => {
  const reference = uninterruptedOutput(job());
  reference.catch(() => undefined);
  const j = new TestJob('redis');
  t.teardown(() => j.cleanup());
  const runner = j.launch(job());
  const s = await j.running();
  let since = 0;
  await waitFor('the client to be writing', () => fs.existsSync(path.join(j.work, 'redis.sock')) && (since ||= Date.now()) < Date.now() - 700, 20_000);
  const cp = await j.command('--bcheckpoint');
  t.is(cp.code, 0, cp.stderr.trim());
  if (cp.code !== 0) {
    await reference.catch(() => '');
    return;
  }
  t.false(readIf(path.join(j.work, 'out.txt')).includes('client exit'), 'checkpointed mid-run');
  await j.killAll(s);
  t.is((await runner.exited).code, 137);
  fs.rmSync(j.portFile, { force: true });
  const r = await j.restartScript().exited;
  t.is(r.code, 0, r.stderr.trim());
  const got = readIf(path.join(j.work, 'out.txt'));
  t.regex(got, /^set 100000\nget 100000 ok, dbsize 100000\nchecksum [0-9a-f]{64}\nclient exit 0\n$/);
  t.is(got, await reference, 'the same output as an uninterrupted run');
});
