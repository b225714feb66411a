// The per-job secret: a random token the coordinator requires on every call. It lives in
// a 0600 file in the checkpoint directory (or comes from the environment), never on a
// command line, where `ps` would show it to other users.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from './errors.js';

export const SECRET_FILE = '.cairn-secret';

export function newSecret(): string {
  return crypto.randomBytes(32).toString('hex');
}

export function secretPath(ckptDir: string): string {
  return path.join(ckptDir, SECRET_FILE);
}

/** Write atomically with mode 0600 (created so, never chmod'ed after the fact). */
export function writeSecret(ckptDir: string, secret: string): string {
  const file = secretPath(ckptDir);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    fs.writeSync(fd, secret + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  return file;
}

export function readSecretFile(file: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new UserError(`no job secret at ${file}`, 'run cairn from the checkpoint directory, or pass --ckptdir or set CAIRN_SECRET');
  }
  if ((st.mode & 0o077) !== 0) {
    throw new UserError(`job secret ${file} is readable by other users (mode ${(st.mode & 0o777).toString(8)})`, `chmod 600 ${file}`);
  }
  const s = fs.readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{16,}$/.test(s)) throw new UserError(`job secret ${file} is malformed`, 'remove it and start a new coordinator');
  return s;
}

/** Secret for a client: CAIRN_SECRET, else CAIRN_SECRET_FILE, else <ckptDir>/.cairn-secret. */
export function findSecret(ckptDir: string): string {
  const env = process.env.CAIRN_SECRET;
  if (env && env.trim()) return env.trim();
  const file = process.env.CAIRN_SECRET_FILE;
  return readSecretFile(file && file.trim() ? file : secretPath(ckptDir));
}

/** Constant-time comparison. */
export function secretMatches(expected: string, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
