// The processes of a job: every descendant of cairn's init in the job's PID namespace.
import fs from 'node:fs';

function childrenOf(pid: number): number[] {
  let text = '';
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) text += fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8') + ' ';
  } catch {
    return [];
  }
  return text.split(/\s+/).filter(Boolean).map(Number);
}

/** Host PIDs of every process under init, parents before children. */
export function jobProcesses(initPid: number): number[] {
  const out: number[] = [];
  const queue = childrenOf(initPid);
  while (queue.length) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...childrenOf(p));
  }
  return out;
}

/** An MPI rank's number, from the variables its launcher gives it (Open MPI, PMI, PMIx);
 * "" for any other process. */
export function mpiRankOf(pid: number): string {
  let env: string;
  try {
    env = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return '';
  }
  for (const name of ['OMPI_COMM_WORLD_RANK', 'PMI_RANK', 'PMIX_RANK']) {
    const m = new RegExp(`(?:^|\\0)${name}=(\\d+)(?:\\0|$)`).exec(env);
    if (m) return m[1]!;
  }
  return '';
}

export function commOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** False once the process is gone or a zombie. */
export function processAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX] /s.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** One line of /proc/PID/status ("" when absent or the process is gone). */
function statusField(pid: number, key: string): string {
  try {
    const m = new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? m[1]!.trim() : '';
  } catch {
    return '';
  }
}

/** The innermost (the job's namespace) column of an NS* status line; 0 when outside. */
function innermost(pid: number, key: string): number {
  const cols = statusField(pid, key).split(/\s+/).filter(Boolean);
  return cols.length ? Number(cols[cols.length - 1]) : 0;
}

/** True while the process is a zombie (exited, not yet waited for). */
export function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z /s.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export interface ZombieInfo {
  hostPid: number;
  hostPpid: number;
  nsPid: number;
  nsPgid: number;
  nsSid: number;
  /** The wait status its parent would get (exit code << 8, or the signal). */
  status: number;
  comm: string;
}

/** What a zombie's parent will learn from wait(), and where the zombie sits in the tree. */
export function zombieInfo(pid: number): ZombieInfo | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).trim().split(/\s+/);   // fields[0] is field 3 (state)
  const exitCode = Number(fields[52 - 3] ?? 0);
  return {
    hostPid: pid,
    hostPpid: Number(fields[4 - 3] ?? 0),
    nsPid: innermost(pid, 'NSpid'),
    nsPgid: innermost(pid, 'NSpgid'),
    nsSid: innermost(pid, 'NSsid'),
    status: exitCode,
    comm: stat.slice(stat.indexOf('(') + 1, close),
  };
}

/** Its PID in the job's namespace (0 when gone). */
export function nsPidOf(pid: number): number {
  return innermost(pid, 'NSpid');
}

/** The parent's host PID. */
export function parentOf(pid: number): number {
  return Number(statusField(pid, 'PPid')) || 0;
}
