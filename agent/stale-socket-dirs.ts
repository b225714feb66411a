// The agent's socket directory (/tmp/cairn-agent-XXXXXX, see daemon-spawn.ts) is removed
// when the agent ends; an agent that is killed (kill -9, a lost node, the wall-clock limit)
// cannot. The next agent of the same user on the host removes such leftovers: a directory
// whose socket refuses connections has no agent behind it any more.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SOCKET_DIR_PREFIX = 'cairn-agent-';

/** Resolves true when nothing listens on the UNIX socket `sock` (ECONNREFUSED). */
function refuses(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(sock);
    c.once('connect', () => {
      c.destroy();
      resolve(false);
    });
    c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

/** Removes the socket directories of `uid`'s dead agents under `tmp`, except `keep`. A
 * directory without a socket is left for a minute: an agent may be about to listen there.
 * Returns the directories removed. Never throws: this is housekeeping. */
export async function removeStaleSocketDirs(uid: number, keep?: string, tmp = os.tmpdir()): Promise<string[]> {
  let names: string[];
  try {
    names = fs.readdirSync(tmp).filter((n) => n.startsWith(SOCKET_DIR_PREFIX));
  } catch {
    return [];
  }
  const removed: string[] = [];
  await Promise.all(
    names.map(async (n) => {
      const dir = path.join(tmp, n);
      if (keep && path.resolve(keep) === dir) return;
      try {
        const st = fs.lstatSync(dir);
        if (!st.isDirectory() || st.uid !== uid) return;
        const sock = path.join(dir, 'spawn.sock');
        const stale = fs.existsSync(sock) ? await refuses(sock) : Date.now() - st.mtimeMs > 60_000;
        if (!stale) return;
        fs.rmSync(dir, { recursive: true, force: true });
        removed.push(dir);
      } catch {
        // gone meanwhile (another agent's sweep), or not ours to read
      }
    }),
  );
  return removed;
}
