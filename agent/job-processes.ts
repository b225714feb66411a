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
