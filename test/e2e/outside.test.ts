// A connection to something outside the job cannot be made again without that peer: the
// checkpoint succeeds and says so (which process, which addresses), and after restart the
// program finds the connection closed (ECONNRESET) and goes on.
import test from 'ava';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Background, readIf, spawnAsUser, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';

// Writes a line per step; after the steps reads its connection and says what it found.
const PY = `
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
with open('out.txt', 'a') as out:
    for i in range(int(sys.argv[2])):
        out.write('step %d\\n' % i); out.flush(); time.sleep(0.1)
    try:
        got = 'eof' if s.recv(16) == b'' else 'data'
    except ConnectionResetError:
        got = 'reset'
    out.write('done %s\\n' % got)
`;

test('a TCP connection to a server outside the job is reported at checkpoint and comes back closed (ECONNRESET)', async (t) => {
  const server = net.createServer((c) => c.on('error', () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as net.AddressInfo).port;
  const job = new TestJob('outside-tcp');
  t.teardown(() => job.cleanup());
  const out = path.join(job.work, 'out.txt');
  const runner = job.launch(['/usr/bin/python3', '-c', PY, String(port), '40']);
  const s = await job.running();
  await waitFor('a few steps', () => readIf(out).includes('step 5\n'), 15_000);
  const cp = await job.command('--bcheckpoint');
  t.is(cp.code, 0, cp.stderr);
  t.regex(cp.stderr, new RegExp(`cairn: note: pid \\d+ \\(python3\\): fd \\d+ is socket:\\[\\d+\\]: the TCP connection 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${port} leaves the job: after a restart it is closed`));
  await job.killAll(s);
  await runner.exited;
  fs.rmSync(job.portFile, { force: true });
  const r = await job.restartScript().exited;
  t.is(r.code, 0, r.stderr);
  const lines = readIf(out).trim().split('\n');
  t.is(lines.at(-1), 'done reset', 'the program found its connection reset');
  t.is(lines.filter((l) => l.startsWith('step ')).length, 40, 'every step once');
});

test('a UNIX stream connection to a server outside the job is reported and comes back with its peer closed: queued bytes, then EOF', async (t) => {
  const job = new TestJob('outside-unix');
  t.teardown(() => job.cleanup());
  const sock = path.join(job.work, 'outside.sock');
  const server = net.createServer((c) => {
    c.on('error', () => undefined);
    c.write('hello');   // waits unread in the job's socket over the checkpoint
  });
  await new Promise<void>((r) => server.listen(sock, r));
  fs.chmodSync(sock, 0o777);
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const py = `
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
with open('out.txt', 'a') as out:
    for i in range(40):
        out.write('step %d\\n' % i); out.flush(); time.sleep(0.1)
    got = b''
    while True:
        d = s.recv(16)
        if not d: break
        got += d
    out.write('done %s eof\\n' % got.decode())
`;
  const out = path.join(job.work, 'out.txt');
  const runner = job.launch(['/usr/bin/python3', '-c', py, sock]);
  const s = await job.running();
  await waitFor('a few steps', () => readIf(out).includes('step 5\n'), 15_000);
  const cp = await job.command('--bcheckpoint');
  t.is(cp.code, 0, cp.stderr);
  t.regex(cp.stderr, new RegExp(`cairn: note: pid \\d+ \\(python3\\): fd \\d+ is socket:\\[\\d+\\]: the UNIX stream connection to socket:\\[\\d+\\] \\(${sock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\) leaves the job`));
  await job.killAll(s);
  await runner.exited;
  fs.rmSync(job.portFile, { force: true });
  const r = await job.restartScript().exited;
  t.is(r.code, 0, r.stderr);
  t.is(readIf(out).trim().split('\n').at(-1), 'done hello eof', 'the bytes the server had sent, then EOF');
});

test('a UNIX datagram socket connected to a server outside the job is reported and comes back with its peer closed: sends are refused', async (t) => {
  const job = new TestJob('outside-unix-dgram');
  t.teardown(() => job.cleanup());
  const sock = path.join(job.work, 'outside.sock');
  // The outside end: a datagram socket bound by a process that is not part of the job.
  const server = new Background(
    spawnAsUser('/usr/bin/python3', ['-c', `import socket, os, sys, time; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); print('bound', flush=True); print(s.recv(16).decode(), flush=True); time.sleep(120)`, sock], { cwd: job.work }),
  );
  t.teardown(() => server.stop());
  await waitFor('the outside socket', () => server.stdout.includes('bound'), 10_000);
  const py = `
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect(sys.argv[1]); s.send(b'first')
with open('out.txt', 'a') as out:
    for i in range(40):
        out.write('step %d\\n' % i); out.flush(); time.sleep(0.1)
    try:
        s.send(b'again'); out.write('done sent\\n')
    except ConnectionRefusedError:
        out.write('done refused\\n')
`;
  const out = path.join(job.work, 'out.txt');
  const runner = job.launch(['/usr/bin/python3', '-c', py, sock]);
  const s = await job.running();
  await waitFor('a few steps', () => readIf(out).includes('step 5\n'), 15_000);
  t.true(server.stdout.includes('first'), 'the server got the first datagram');
  const cp = await job.command('--bcheckpoint');
  t.is(cp.code, 0, cp.stderr);
  t.regex(cp.stderr, new RegExp(`cairn: note: pid \\d+ \\(python3\\): fd \\d+ is socket:\\[\\d+\\]: the UNIX datagram connection to socket:\\[\\d+\\] \\(${sock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\) leaves the job`));
  await job.killAll(s);
  await runner.exited;
  fs.rmSync(job.portFile, { force: true });
  const r = await job.restartScript().exited;
  t.is(r.code, 0, r.stderr);
  t.is(readIf(out).trim().split('\n').at(-1), 'done refused', 'its peer is closed after the restart');
});
