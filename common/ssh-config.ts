// The user's OpenSSH client settings for one host, read the way ssh(1) reads them: the
// first value found for an option wins, Host patterns may use * ? and !negation. Only what
// cairn needs to reach its agents: HostName, User, Port, IdentityFile, StrictHostKeyChecking,
// UserKnownHostsFile (Include and Match are not followed).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SshHostConfig {
  /** The name the user wrote (node2), and where to connect (HostName, or that name). */
  alias: string;
  hostName: string;
  user: string;
  port: number;
  identityFiles: string[];
  /** yes | no | accept-new | ask (ssh's default, which cannot ask here: treated as yes). */
  strictHostKeyChecking: string;
  knownHostsFiles: string[];
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** Does a `Host` line's pattern list match this alias? */
export function hostPatternsMatch(patterns: string[], alias: string): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (globToRegExp(p.slice(1)).test(alias)) return false;
    } else if (globToRegExp(p).test(alias)) {
      matched = true;
    }
  }
  return matched;
}

function expandPath(p: string, home: string, v: { host: string; user: string; port: number; alias: string }): string {
  const expanded = p
    .replace(/^~(?=\/|$)/, home)
    .replace(/%%|%d|%h|%r|%u|%p|%n/g, (t) => ({ '%%': '%', '%d': home, '%h': v.host, '%r': v.user, '%u': os.userInfo().username, '%p': String(v.port), '%n': v.alias })[t] ?? t);
  return path.isAbsolute(expanded) ? expanded : path.join(home, expanded);
}

/** Splits `Key value`, `Key=value` and "quoted" values. */
function parseLine(line: string): [string, string[]] | undefined {
  const t = line.trim();
  if (!t || t.startsWith('#')) return undefined;
  const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(t);
  if (!m) return undefined;
  const words = [...m[2]!.matchAll(/"([^"]*)"|(\S+)/g)].map((w) => w[1] ?? w[2]!);
  return [m[1]!.toLowerCase(), words];
}

export function resolveSshHost(alias: string, configText: string, home = os.homedir(), defaultUser = os.userInfo().username): SshHostConfig {
  const found = new Map<string, string[]>();
  const identityFiles: string[] = [];
  let active = true;   // options before the first Host line apply to every host
  for (const line of configText.split('\n')) {
    const parsed = parseLine(line);
    if (!parsed) continue;
    const [key, words] = parsed;
    if (key === 'host') {
      active = hostPatternsMatch(words, alias);
      continue;
    }
    if (key === 'match') {
      active = false;   // not supported: skip its block rather than misapply it
      continue;
    }
    if (!active) continue;
    if (key === 'identityfile') identityFiles.push(...words.slice(0, 1));
    else if (!found.has(key)) found.set(key, words);
  }
  const first = (k: string) => found.get(k)?.[0];
  const hostName = (first('hostname') ?? alias).replace(/%h/g, alias);
  const user = first('user') ?? defaultUser;
  const port = Number(first('port') ?? 22) || 22;
  const vars = { host: hostName, user, port, alias };
  const ids = identityFiles.length
    ? identityFiles.map((f) => expandPath(f, home, vars))
    : ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => path.join(home, '.ssh', f));
  const known = found.get('userknownhostsfile')?.map((f) => (f === '/dev/null' ? f : expandPath(f, home, vars))) ?? [path.join(home, '.ssh', 'known_hosts'), path.join(home, '.ssh', 'known_hosts2')];
  return {
    alias,
    hostName,
    user,
    port,
    identityFiles: ids,
    strictHostKeyChecking: (first('stricthostkeychecking') ?? 'ask').toLowerCase(),
    knownHostsFiles: known,
  };
}

export function sshHostConfig(alias: string): SshHostConfig {
  const home = os.homedir();
  let text = '';
  try {
    text = fs.readFileSync(path.join(home, '.ssh', 'config'), 'utf8');
  } catch {
    // no config: ssh's defaults
  }
  return resolveSshHost(alias, text, home);
}
