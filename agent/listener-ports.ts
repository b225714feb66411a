// A restart right after a kill: the killed run's TCP connections hold their listeners'
// ports in TIME_WAIT for up to a minute, and a listener that did not set SO_REUSEADDR (Open
// MPI's btl_tcp) cannot bind its port again until they are gone. The port is the
// listener's, which peers know, so the restore waits for it rather than move it; this
// waits here first, before anything of the restore exists, and says so.
import net from 'node:net';

/** A saved socket, as image_to_js gives it. */
interface SavedSocket {
  family: number;
  type: number;
  state: number;
  name?: Buffer | Uint8Array;
}

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCKET_LISTEN = 2;
const WAIT_MS = 65_000;

/** The TCP ports the images listen on, with the program holding each. */
export interface ListenerPort {
  port: number;
  /** The address it was bound to ('' for any). */
  host: string;
  comm: string;
}

export function listenerPorts(images: Array<{ comm?: string; sockets?: SavedSocket[] }>): ListenerPort[] {
  const out: ListenerPort[] = [];
  for (const img of images)
    for (const s of img.sockets ?? []) {
      if ((s.type & 0xf) !== SOCK_STREAM || s.state !== SOCKET_LISTEN || (s.family !== AF_INET && s.family !== AF_INET6)) continue;
      const name = Buffer.from(s.name ?? []);
      const port = name.length >= 4 ? name.readUInt16BE(2) : 0;
      const v4 = s.family === AF_INET;
      const raw = v4 ? name.subarray(4, 8) : name.subarray(8, 24);
      const host = raw.length === (v4 ? 4 : 16) ? addressText(raw, v4) : '';
      if (port && !out.some((o) => o.port === port && o.host === host)) out.push({ port, host, comm: img.comm ?? '?' });
    }
  return out;
}

function addressText(raw: Buffer, v4: boolean): string {
  if (v4) return [...raw].join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(raw.readUInt16BE(i).toString(16));
  return words.join(':');
}

/** Whether the port can be bound as the restorer binds it: SO_REUSEADDR on (libuv sets it),
 * on its address, or on every address when this host lacks that one (a restart elsewhere). */
function free(p: ListenerPort): Promise<boolean> {
  const tryBind = (host: string): Promise<string> =>
    new Promise((resolve) => {
      const srv = net.createServer();
      srv.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      srv.listen({ port: p.port, host }, () => srv.close(() => resolve('')));
    });
  return tryBind(p.host || '::').then(async (e) => (e === 'EADDRNOTAVAIL' ? tryBind(p.host.includes(':') ? '::' : '0.0.0.0') : e)).then((e) => e === '');
}

/** Waits (up to about a minute) until every listener port is free; says what it waits for. */
export async function waitForListenerPorts(images: Array<{ comm?: string; sockets?: SavedSocket[] }>, log: (line: string) => void): Promise<void> {
  const end = Date.now() + WAIT_MS;
  let said = false;
  for (const p of listenerPorts(images)) {
    while (!(await free(p)) && Date.now() < end) {
      if (!said) log(`waiting for TCP port ${p.port} of ${p.comm}: connections of the killed run still hold it (TIME_WAIT, up to a minute)`);
      said = true;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
