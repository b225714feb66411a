// cairn_restart.sh, DMTCP's dmtcp_restart_script.sh for cairn: after every committed
// generation, <ckptDir>/cairn_restart.sh restarts the job's latest generation with the
// coordinator settings it was launched with. Every path in it is absolute, so it runs
// from any directory; every value is single-quoted, so odd names cannot break out.
import path from 'node:path';
import { writeFileAtomic } from './durable-fs.js';
import { genName } from './generations.js';

export const RESTART_SCRIPT = 'cairn_restart.sh';

export interface RestartHost {
  host: string;
  cwd: string;
  images: number;
}

export interface RestartScriptInput {
  jobId: string;
  generation: number;
  date: Date;
  hosts: RestartHost[];
  jobDir: string;
  ckptDir: string;
  /** The port as the user asked for it (0 = any), not the one bound. */
  coordPort: number;
  portFile?: string;
  intervalS: number;
  cairnBin: string;
}

/** Quote for POSIX sh: inside single quotes nothing is special but the quote itself. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Text for a comment line: no newline or other control character may end the comment. */
function commentSafe(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, '?');
}

export function renderRestartScript(r: RestartScriptInput): string {
  const lines: string[] = [
    '#!/bin/sh',
    `# ${RESTART_SCRIPT}: restart cairn job ${commentSafe(r.jobId)} from its latest checkpoint generation.`,
    '# Written by the cairn coordinator after every committed checkpoint (rewritten each time).',
    `#   job:        ${commentSafe(r.jobId)}`,
    `#   generation: ${r.generation} (${genName(r.generation)})`,
    `#   written:    ${r.date.toISOString()}`,
    '#',
    '# Run it from any directory. Arguments are passed on to `cairn restart`',
    '# (for example: ./cairn_restart.sh --interval 3600). Set CAIRN to use another cairn.',
    '',
    `# Host table of generation ${r.generation}: host_N is where processes ran, host_N_to where`,
    '# they come back. Edit host_N_to to move them (their hostnames stay the old ones);',
    '# every host_N_to must run sshd and reach this host, with cairn at the same path.',
  ];
  r.hosts.forEach((h, i) => {
    lines.push(`host_${i + 1}=${shQuote(h.host)}  host_${i + 1}_to=${shQuote(h.host)}   # cwd ${commentSafe(h.cwd || '?')}, ${h.images} image${h.images === 1 ? '' : 's'}`);
  });
  lines.push(`hosts=${shQuote(r.hosts.map((h) => h.host).join(' '))}`);
  lines.push(`host_map="${r.hosts.map((_, i) => `$host_${i + 1}=$host_${i + 1}_to`).join(',')}"`);
  // One host that stays put: a plain local restart, as before; otherwise over ssh.
  lines.push(`multi=${r.hosts.length > 1 ? 1 : 0}`);
  r.hosts.forEach((_, i) => lines.push(`[ "$host_${i + 1}" = "$host_${i + 1}_to" ] || multi=1`));
  lines.push('if [ "$multi" = 1 ]; then set -- --host-map "$host_map" "$@"; fi');
  lines.push(
    '',
    `job_dir=${shQuote(path.resolve(r.jobDir))}`,
    `ckpt_dir=${shQuote(path.resolve(r.ckptDir))}`,
    `coord_port=${shQuote(String(r.coordPort))}`,
    `interval=${shQuote(String(r.intervalS))}`,
  );
  if (r.portFile) lines.push(`port_file=${shQuote(path.resolve(r.portFile))}`);
  const bin = shQuote(path.resolve(r.cairnBin));
  lines.push(
    '',
    'if [ -z "${CAIRN:-}" ]; then',
    `  if [ -x ${bin} ]; then CAIRN=${bin}; else CAIRN=cairn; fi`,
    'fi',
    '',
    'exec "$CAIRN" restart --coord-port "$coord_port"' +
      (r.portFile ? ' --port-file "$port_file"' : '') +
      ' --interval "$interval" --ckptdir "$ckpt_dir" "$@" "$job_dir"',
    '',
  );
  return lines.join('\n');
}

/** Write <ckptDir>/cairn_restart.sh (0700) atomically; returns its path. */
export async function writeRestartScript(r: RestartScriptInput): Promise<string> {
  const file = path.join(r.ckptDir, RESTART_SCRIPT);
  await writeFileAtomic(file, renderRestartScript(r), 0o700);
  return file;
}
