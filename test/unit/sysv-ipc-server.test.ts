// cairn-ipc serves the agent for a job's life: one helper answers every checkpoint's order,
// and one that failed says why in one line.
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nativePaths } from '../../agent/engine-api.js';
import { SysvIpcServer } from '../../agent/sysv-ipc-server.js';
import { crc32c } from '../../common/crc32c.js';

test('one helper answers several orders, each written at its offset, and exits at EOF', async (t) => {
  // A user and IPC namespace with one shared memory segment, as a job's.
  const ns = spawn('unshare', ['-U', '-i', '--map-root-user', 'sh', '-c', 'ipcmk -M 8192 >/dev/null && echo ready && exec sleep 60'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => ns.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    ns.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    ns.once('exit', (c) => reject(new Error(`unshare exited (${c})`)));
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-ipc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const server = new SysvIpcServer(nativePaths().ipc, ns.pid!);
  for (const [name, offset] of [['a b.cimg', 4096], ['second\nline.cimg', 100]] as const) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, '');
    const blob = await server.dump(file, offset);
    t.is(blob.objects.length, 1);
    t.is(blob.objects[0]!.kind, 'shm');
    t.is(blob.objects[0]!.size, 8192);
    const data = fs.readFileSync(file);
    t.is(data.length, offset + blob.length, `${name}: the blob ends the file`);
    t.is(crc32c(data.subarray(offset)), blob.crc32c, `${name}: the blob is at its offset`);
  }
  t.true(server.alive);
  await server.close();
  t.false(server.alive);
});

test('a helper that cannot join the namespaces: the order fails in one line, and it is known dead', async (t) => {
  const server = new SysvIpcServer(nativePaths().ipc, 999_999_999);
  const e = await t.throwsAsync(server.dump(path.join(os.tmpdir(), 'never.cimg'), 4096));
  t.regex(e!.message, /^cairn-ipc: cannot open \/proc\/999999999\/ns\/user: .* \(the job's SysV IPC objects\)$/);
  t.false(server.alive);
});
