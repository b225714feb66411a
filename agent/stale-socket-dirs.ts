// The agent's socket directory (/tmp/cairn-agent-XXXXXX, see daemon-spawn.ts) is removed
// when the agent ends; an agent that is killed (kill -9, the wall-clock limit) cannot. The
// next agent of the same user on the same host removes such leftovers. A directory is only
// known dead by its owner file: the host, the boot, the agent's pid and its start time (an
// agent of an earlier boot is dead whatever its pid).
// Whether its socket answers says nothing: a UNIX socket cannot be reached from another
// network namespace, and hosts (containers, the test bed's nodes) may share one /tmp.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SOCKET_DIR_PREFIX = 'cairn-agent-';
const OWNER = 'owner';
const TAKEOVER_MS = 30_000;

function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** The start time of pid (clock ticks since boot, /proc/PID/stat field 22); '' if gone. */
function startTime(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function identity(pid: number): string {
  return `${os.hostname()} ${bootId()} ${pid} ${startTime(pid)}`;
}

/** Marks dir as this process's. */
export function writeOwner(dir: string): void {
  fs.writeFileSync(path.join(dir, OWNER), `${identity(process.pid)}\n`, { mode: 0o600 });
}

/** Whether dir's owner file names this process. */
export function ownedBySelf(dir: string): boolean {
  try {
    return fs.readFileSync(path.join(dir, OWNER), 'utf8').trim() === identity(process.pid);
  } catch {
    return false;
  }
}

/** Removes the socket directories of `uid`'s dead agents of this host under `tmp`, except
 * `keep`; returns them. Never throws: this is housekeeping. */
export function removeStaleSocketDirs(uid: number, keep?: string, tmp = os.tmpdir()): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(tmp).filter((n) => n.startsWith(SOCKET_DIR_PREFIX));
  } catch {
    return [];
  }
  const host = os.hostname();
  const boot = bootId();
  const removed: string[] = [];
  for (const n of names) {
    const dir = path.join(tmp, n);
    if (keep && path.resolve(keep) === dir) continue;
    try {
      const st = fs.lstatSync(dir);
      if (!st.isDirectory() || st.uid !== uid) continue;
      // An owner file written moments ago: an agent of another host sharing this /tmp may be
      // taking the directory over (a restart serves its socket path again).
      if (Date.now() - fs.statSync(path.join(dir, OWNER)).mtimeMs < TAKEOVER_MS) continue;
      const [h, b, pid, start] = fs.readFileSync(path.join(dir, OWNER), 'utf8').trim().split(' ');
      if (h !== host || !pid || !/^\d+$/.test(pid)) continue;              // another host's, or unknown
      if (b === boot && startTime(Number(pid)) === start) continue;        // its agent still runs
      fs.rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // no owner file (not ours to judge), gone meanwhile, or not readable
    }
  }
  return removed;
}
