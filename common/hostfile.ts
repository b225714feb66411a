// Host lists: --hosts a,b,c and hostfiles in the usual MPI shapes (one host per line,
// `node1 slots=2` for Open MPI, `node1:2` for MPICH; # comments). Slot counts are
// ignored: cairn runs one agent per host.
import fs from 'node:fs';
import { UserError } from './errors.js';

export function parseHostList(text: string): string[] {
  const hosts: string[] = [];
  for (const raw of text.split(/[\n,]/)) {
    const word = raw.replace(/#.*/, '').trim().split(/\s+/)[0] ?? '';
    const host = word.replace(/:\d+$/, '');
    if (host && !hosts.includes(host)) hosts.push(host);
  }
  return hosts;
}

export function hostsOf(hosts?: string, hostfile?: string): string[] {
  if (hosts !== undefined && hostfile !== undefined) throw new UserError('--hosts and --hostfile both given', 'use one of them');
  if (hostfile !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(hostfile, 'utf8');
    } catch {
      throw new UserError(`hostfile ${hostfile} cannot be read`);
    }
    const list = parseHostList(text);
    if (!list.length) throw new UserError(`hostfile ${hostfile} names no host`);
    return list;
  }
  return hosts !== undefined ? parseHostList(hosts) : [];
}

/** Reads the job secret as the first line of stdin, a byte at a time so that nothing
 * after it is taken from the job (which inherits stdin). */
export function readSecretFromStdin(): string {
  const buf = Buffer.alloc(1);
  let s = '';
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(0, buf, 0, 1, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw e;
    }
    if (n === 0 || buf[0] === 0x0a) break;
    s += String.fromCharCode(buf[0]!);
    if (s.length > 256) break;
  }
  s = s.trim();
  if (!/^[0-9a-f]{16,}$/.test(s)) throw new UserError('--secret-stdin: no job secret on stdin');
  return s;
}
