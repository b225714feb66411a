// The TCP listeners a restart waits for (agent/listener-ports.ts): which saved sockets count,
// and a port that is busy is waited for, then the wait ends when it is free.
import test from 'ava';
import net from 'node:net';
import { listenerPorts, waitForListenerPorts } from '../../agent/listener-ports.js';

const v4 = (a: number[], port: number) => {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(2, 0);
  b.writeUInt16BE(port, 2);
  Buffer.from(a).copy(b, 4);
  return b;
};

test('only TCP listeners count, with their port and address', (t) => {
  const images = [
    {
      comm: 'orted',
      sockets: [
        { family: 2, type: 1, state: 2, name: v4([10, 77, 0, 12], 1024) },    // TCP listener
        { family: 2, type: 1, state: 3, name: v4([10, 77, 0, 12], 40000) },   // bound, not listening
        { family: 2, type: 2, state: 3, name: v4([0, 0, 0, 0], 5353) },       // UDP
        { family: 1, type: 1, state: 2, name: Buffer.from([1, 0, 47, 116]) }, // UNIX listener
      ],
    },
    { comm: 'mpirun', sockets: [{ family: 2, type: 1 | 0o2000000, state: 2, name: v4([0, 0, 0, 0], 33333) }] },
  ];
  t.deepEqual(listenerPorts(images), [
    { port: 1024, host: '10.77.0.12', comm: 'orted' },
    { port: 33333, host: '0.0.0.0', comm: 'mpirun' },
  ]);
});

test('a busy port is waited for, with one line saying which, until it is free', async (t) => {
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => r()));
  const port = (holder.address() as net.AddressInfo).port;
  const lines: string[] = [];
  setTimeout(() => holder.close(), 1200);
  const t0 = Date.now();
  await waitForListenerPorts([{ comm: 'server', sockets: [{ family: 2, type: 1, state: 2, name: v4([127, 0, 0, 1], port) }] }], (l) => lines.push(l));
  t.true(Date.now() - t0 >= 1000, 'it waited for the holder to let go');
  t.is(lines.length, 1);
  t.regex(lines[0]!, new RegExp(`port ${port} of server`));
});
