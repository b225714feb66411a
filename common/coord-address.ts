// Where the coordinator is, from flags, then CAIRN_* and DMTCP_* environment variables,
// then DMTCP's defaults (localhost:7779).
import fs from 'node:fs';
import { UserError } from './errors.js';

export const DEFAULT_COORD_PORT = 7779;

export function envValue(...names: string[]): string | undefined {
  return envValueIn(process.env, ...names);
}

function envValueIn(env: NodeJS.ProcessEnv, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v.trim() !== '') return v.trim();
  }
  return undefined;
}

export function parsePort(value: unknown, what: string): number {
  const s = String(value).trim();
  const n = Number(s);
  if (!/^\d+$/.test(s) || n > 65535) throw new UserError(`${what} '${s}' is not a port number`, 'use 0..65535 (0 = any free port)');
  return n;
}

export function coordHost(flag?: string): string {
  return flag ?? envValue('CAIRN_COORD_HOST', 'DMTCP_COORD_HOST', 'DMTCP_HOST') ?? 'localhost';
}

export function coordPort(flag?: number | string, environment: NodeJS.ProcessEnv = process.env): number {
  if (flag !== undefined) return parsePort(flag, '--coord-port');
  const env = envValueIn(environment, 'CAIRN_COORD_PORT', 'DMTCP_COORD_PORT', 'DMTCP_PORT');
  return env !== undefined ? parsePort(env, 'CAIRN_COORD_PORT') : DEFAULT_COORD_PORT;
}

export function ckptDirOf(flag?: string): string {
  return flag ?? envValue('CAIRN_CHECKPOINT_DIR', 'DMTCP_CHECKPOINT_DIR') ?? process.cwd();
}

export function intervalOf(flag?: number): number {
  if (flag !== undefined) return flag;
  const env = envValue('CAIRN_CHECKPOINT_INTERVAL', 'DMTCP_CHECKPOINT_INTERVAL');
  if (env === undefined) return 0;
  const n = Number(env);
  if (!Number.isFinite(n) || n < 0) throw new UserError(`CAIRN_CHECKPOINT_INTERVAL '${env}' is not a number of seconds`, 'use e.g. 3600, or 0 for none');
  return n;
}

/** Port from a --port-file written by a coordinator. */
export function readPortFile(file: string): number {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UserError(`port file ${file} does not exist`, 'start the coordinator with --port-file, or give --coord-port');
  }
  return parsePort(text.trim(), `port file ${file}`);
}
