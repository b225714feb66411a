// MPI daemons on other hosts join the job: the agent's side of cairn-rsh (native/helpers/
// rsh.c). The job's MPI launchers run cairn-rsh instead of ssh; it asks this agent, over
// a UNIX socket named in the job's environment, to have the coordinator start the daemon
// on its host under `cairn launch` as `cairn-relay TOKEN PORT ADDRS COMMAND`, a new member
// of the same job whose stdio is a TCP connection back to cairn-rsh.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { call, type CoordTarget } from '../common/control-client.js';
import { hostAddresses } from '../common/host-addresses.js';
import { errorMessage } from '../common/errors.js';
import type { SpawnAgentsReply__Output } from '../gen/cairn/v1/SpawnAgentsReply.js';
import type { SpawnAgentsRequest } from '../gen/cairn/v1/SpawnAgentsRequest.js';
import { nativePaths } from './engine-api.js';
import { ownedBySelf, removeStaleSocketDirs, SOCKET_DIR_PREFIX, writeOwner } from './stale-socket-dirs.js';

export interface SpawnRequest {
  host: string;
  port: number;
  token: string;
  command: string;
}

const MAX_COMMAND = 1 << 20;

/** The request cairn-rsh writes: "spawn", then host/port/token/command lines, then the
 * command's bytes. undefined while incomplete; throws when malformed. */
export function parseSpawnRequest(buf: Buffer): SpawnRequest | undefined {
  const fields = new Map<string, string>();
  let at = 0;
  for (let i = 0; i < 5; i++) {
    const nl = buf.indexOf(10, at);
    if (nl < 0) {
      if (buf.length > 4096) throw new Error('request header too long');
      return undefined;
    }
    const line = buf.subarray(at, nl).toString();
    at = nl + 1;
    if (i === 0) {
      if (line !== 'spawn') throw new Error(`unknown request '${line.slice(0, 40)}'`);
      continue;
    }
    const sp = line.indexOf(' ');
    fields.set(line.slice(0, sp), line.slice(sp + 1));
  }
  const len = Number(fields.get('command'));
  const port = Number(fields.get('port'));
  const host = fields.get('host') ?? '';
  const token = fields.get('token') ?? '';
  if (!Number.isInteger(len) || len < 0 || len > MAX_COMMAND) throw new Error('bad command length');
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error('bad port');
  if (!/^[A-Za-z0-9._-]+$/.test(host)) throw new Error(`bad host name '${host}'`);
  if (!/^[0-9a-f]{16,64}$/.test(token)) throw new Error('bad token');
  if (buf.length < at + len) return undefined;
  return { host, port, token, command: buf.subarray(at, at + len).toString() };
}

/** The cairn launch arguments that start the daemon's relay on its host. */
export function relayArgs(r: SpawnRequest, addrs: string[]): string[] {
  return ['launch', '-q', '--', nativePaths().relay, r.token, String(r.port), addrs.join(','), r.command];
}

export interface DaemonSpawner {
  /** For CAIRN_AGENT_SOCKET: the socket's path. */
  readonly socketName: string;
  close(): void;
}

/** A restarted job's processes name the socket their launch made (CAIRN_AGENT_SOCKET in
 * their environment): the restart serves it again at that path. */
export function agentSocketOf(pid: number): string | undefined {
  try {
    const env = fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    const v = env.find((e) => e.startsWith('CAIRN_AGENT_SOCKET='))?.slice('CAIRN_AGENT_SOCKET='.length);
    return v && path.isAbsolute(v) && path.basename(v) === 'spawn.sock' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The socket's directory, made again (0700) or taken back if it is ours and private (a
 * stale socket file left by a killed agent is removed before the listen). undefined: not
 * usable. */
function reuseSocketDir(socket: string): string | undefined {
  const dir = path.dirname(socket);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
    const st = fs.lstatSync(dir);
    if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) return undefined;
  }
  return dir;
}

export async function startDaemonSpawner(coord: CoordTarget, o: { cwd: string; ckptDir: string; log: (line: string) => void; socket?: string }): Promise<DaemonSpawner> {
  // A socket file in a directory only the user can enter (an abstract name would be open
  // to every user of the host).
  const dir = (o.socket && reuseSocketDir(o.socket)) || fs.mkdtempSync(path.join(os.tmpdir(), SOCKET_DIR_PREFIX));
  const name = path.join(dir, 'spawn.sock');
  const serveRequest = (sock: net.Socket) => {
    let buf = Buffer.alloc(0);
    let busy = false;
    const answer = (line: string) => sock.end(`${line.replace(/\n/g, ' ')}\n`);
    sock.on('error', () => undefined);
    sock.on('data', (d: Buffer) => {
      if (busy) return;
      buf = Buffer.concat([buf, d]);
      let req: SpawnRequest | undefined;
      try {
        req = parseSpawnRequest(buf);
      } catch (e) {
        answer(`error: ${errorMessage(e)}`);
        return;
      }
      if (!req) return;
      busy = true;
      const r = req;
      o.log(`starting an MPI daemon on ${r.host} for the job`);
      call<SpawnAgentsRequest, SpawnAgentsReply__Output>(coord, (c) => c.SpawnAgents, { agents: [{ host: r.host, args: relayArgs(r, hostAddresses()) }], cwd: o.cwd, ckptDir: o.ckptDir }, 120_000)
        .then((rep) => answer(rep.ok ? 'ok' : `cannot start a daemon on ${r.host}: ${rep.error}`))
        .catch((e: unknown) => answer(`cannot start a daemon on ${r.host}: ${errorMessage(e)}`));
    });
  };
  // A restart's directory was a dead agent's. Where hosts share /tmp (containers, the test
  // bed), an agent of the dead one's host may judge it stale and remove it just as this one
  // takes it: then it is made again, until this agent's owner file and socket are in it.
  let server: net.Server;
  for (let attempt = 1; ; attempt++) {
    server = net.createServer(serveRequest);
    try {
      try {
        writeOwner(dir);
      } catch {
        fs.mkdirSync(dir, { mode: 0o700, recursive: true });
        writeOwner(dir);
      }
      removeStaleSocketDirs(process.getuid?.() ?? -1, dir);
      fs.rmSync(name, { force: true });
      const s = server;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(name, () => {
          s.off('error', reject);
          resolve();
        });
      });
      if (ownedBySelf(dir) && fs.existsSync(name)) break;
      await new Promise<void>((resolve) => s.close(() => resolve()));
      if (attempt >= 5) throw new Error(`socket directory ${dir} was taken away`);
    } catch (e) {
      if (attempt >= 5) throw e;
    }
    await new Promise((r) => setTimeout(r, 20 * attempt));
  }
  server.unref();
  return {
    socketName: name,
    close: () => {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What the job's environment gets so that Open MPI and MPICH (Hydra) start their remote
 * daemons through cairn-rsh. */
export function mpiLauncherEnv(socketName: string): Record<string, string> {
  const rsh = nativePaths().rsh;
  return {
    CAIRN_AGENT_SOCKET: socketName,
    OMPI_MCA_plm_rsh_agent: rsh,
    HYDRA_LAUNCHER: 'ssh',
    HYDRA_LAUNCHER_EXEC: rsh,
  };
}
