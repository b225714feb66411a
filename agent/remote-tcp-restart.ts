// Restart of a job spread over hosts: its TCP connections between hosts are made again by
// the two hosts' agents, whatever hosts and ports they have now. The end saved as the
// listening one offers a listener's addresses through the coordinator under the
// connection's key; the other end connects; then both agents echo the bytes that were in
// flight (each end's own bytes end up queued for it) and hand the socket to the restore.
import fs from 'node:fs';
import path from 'node:path';
import { call, type CoordTarget } from '../common/control-client.js';
import { hostAddresses } from '../common/host-addresses.js';
import type { RendezvousReply__Output } from '../gen/cairn/v1/RendezvousReply.js';
import type { RendezvousRequest } from '../gen/cairn/v1/RendezvousRequest.js';
import { loadTcpRemote, type ProcessImageObject } from './engine-api.js';

const WAIT_MS = 120_000;

interface SavedSocket {
  ino: string;
  remoteConn?: string;
  remoteListen?: boolean;
  runs?: Array<{ offset: string; len: string }>;
}

interface End {
  ino: string;
  id: string;
  listen: boolean;
  bytes: Buffer;
  what: string;
  fd?: number;
  listenFd?: number;
}

/** The bytes saved for a socket, from its image file. */
function savedBytes(file: string, runs: SavedSocket['runs']): Buffer {
  const parts: Buffer[] = [];
  const fd = fs.openSync(file, 'r');
  try {
    for (const r of runs ?? []) {
      const b = Buffer.alloc(Number(r.len));
      if (fs.readSync(fd, b, 0, b.length, Number(r.offset)) !== b.length) throw new Error(`${file}: cut short`);
      parts.push(b);
    }
  } finally {
    fs.closeSync(fd);
  }
  return Buffer.concat(parts);
}

export async function remakeRemoteTcp(
  loaded: Array<{ image: ProcessImageObject; file: string }>,
  genDir: string,
  coord: CoordTarget,
  log: (s: string) => void,
): Promise<void> {
  // A socket several processes hold is in each of their images, its bytes in one of them.
  const byIno = new Map<string, End>();
  for (const l of loaded)
    for (const s of ((l.image as { sockets?: SavedSocket[] }).sockets ?? []))
      if (s.remoteConn && (!byIno.has(s.ino) || (s.runs ?? []).length))
        byIno.set(s.ino, {
          ino: s.ino,
          id: s.remoteConn,
          listen: Boolean(s.remoteListen),
          bytes: savedBytes(l.file, s.runs),
          what: `the TCP connection ${s.remoteConn} (to the job on another host)`,
        });
  const ends = [...byIno.values()];
  if (ends.length === 0) return;
  const tcp = loadTcpRemote();
  const key = (e: End): string => `${path.basename(genDir)}#${e.id}`;
  const rendezvous = (req: RendezvousRequest, ms: number) =>
    call<RendezvousRequest, RendezvousReply__Output>(coord, (c) => c.Rendezvous, req, ms);
  try {
    // Offers first, then connections, then accepts: two ends restored by this same agent
    // meet through the kernel's backlog.
    for (const e of ends.filter((x) => x.listen)) {
      const l = tcp.listen(false);
      e.listenFd = l.fd;
      await rendezvous({ key: key(e), offer: hostAddresses().map((a) => `${a}:${l.port}`) }, 10_000);
    }
    for (const e of ends.filter((x) => !x.listen)) {
      const r = await rendezvous({ key: key(e), waitMs: WAIT_MS }, WAIT_MS + 5_000);
      e.fd = tcp.connect(r.addrs, 5_000);
    }
    for (const e of ends.filter((x) => x.listen)) {
      e.fd = tcp.accept(e.listenFd!, WAIT_MS);
      tcp.close(e.listenFd!);
      e.listenFd = undefined;
    }
    const left = await tcp.echo(ends.map((e) => ({ fd: e.fd!, bytes: e.bytes, what: e.what })), WAIT_MS);
    ends.forEach((e, i) => tcp.premade(e.ino, e.fd!, left[i]!));
    log(`${ends.length} TCP connection(s) to the job on other hosts made again`);
  } catch (err) {
    for (const e of ends) {
      if (e.listenFd !== undefined) tcp.close(e.listenFd);
      if (e.fd !== undefined) tcp.close(e.fd);
    }
    throw err;
  }
}
