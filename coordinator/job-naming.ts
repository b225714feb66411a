// Job ids name directories (<ckptDir>/<jobId>), so they are restricted to a safe alphabet.
import crypto from 'node:crypto';
import path from 'node:path';

const JOB_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isValidJobId(id: string): boolean {
  return JOB_ID_RE.test(id) && !id.includes('..');
}

/** A new job's id: the program's name made safe, and 6 random hex digits. */
export function newJobId(jobName: string): string {
  const base =
    path
      .basename(jobName || '')
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^[._-]+/, '')
      .replace(/\.{2,}/g, '.')
      .slice(0, 40) || 'job';
  return `${base}-${crypto.randomBytes(3).toString('hex')}`;
}
