// Checking a server's host key against the user's known_hosts files, as ssh does, with
// plain and hashed (|1|salt|hmac) host names and [host]:port entries.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { hostPatternsMatch } from './ssh-config.js';

export type HostKeyVerdict = 'known' | 'unknown' | 'changed';

function names(host: string, port: number): string[] {
  return port === 22 ? [host] : [`[${host}]:${port}`];
}

function nameMatches(field: string, candidates: string[]): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    return candidates.some((c) => crypto.createHmac('sha1', Buffer.from(salt, 'base64')).update(c).digest('base64') === hash);
  }
  const patterns = field.split(',');
  return candidates.some((c) => hostPatternsMatch(patterns, c));
}

/** keyBlob: the server's public key as sent on the wire (what known_hosts holds in base64). */
export function checkHostKey(files: string[], hosts: string[], port: number, keyBlob: Buffer): HostKeyVerdict {
  const candidates = [...new Set(hosts.flatMap((h) => names(h, port)))];
  const b64 = keyBlob.toString('base64');
  let sawOtherKey = false;
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      let f = line.trim().split(/\s+/);
      if (!f[0] || f[0].startsWith('#')) continue;
      if (f[0] === '@revoked') {
        if (nameMatches(f[1] ?? '', candidates) && f[3] === b64) return 'changed';
        continue;
      }
      if (f[0].startsWith('@')) f = f.slice(1);   // @cert-authority: not supported, compared as a plain key
      if (f.length < 3 || !nameMatches(f[0]!, candidates)) continue;
      if (f[2] === b64) return 'known';
      sawOtherKey = true;
    }
  }
  return sawOtherKey ? 'changed' : 'unknown';
}

/** StrictHostKeyChecking=accept-new: remember a new host's key. */
export function rememberHostKey(file: string, host: string, port: number, keyType: string, keyBlob: Buffer): void {
  fs.appendFileSync(file, `${names(host, port)[0]} ${keyType} ${keyBlob.toString('base64')}\n`, { mode: 0o600 });
}
