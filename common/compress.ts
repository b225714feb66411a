// Page data compression settings: --compress [zstd[:LEVEL] | gzip[:LEVEL] | none], then
// CAIRN_COMPRESS, then DMTCP's DMTCP_GZIP=0/1; default none. `--compress` with no codec is
// zstd. Checked here so a bad value is one line naming where it came from, before anything
// starts; the engine parses the same spelling (native/src/pagecodec.cc).
import { envValue } from './coord-address.js';
import { UserError } from './errors.js';

const LEVELS: Record<string, [number, number]> = { zstd: [1, 22], gzip: [1, 9] };
const HINT = 'use --compress zstd[:LEVEL 1-22], gzip[:LEVEL 1-9] or none (--compress alone: zstd)';

/** The codec spec normalized ('zstd:1', 'gzip:1', 'none'), or a UserError naming `what`. */
export function parseCompress(value: string, what: string): string {
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'zstd') return 'zstd:1';
  if (v === 'none') return 'none';
  if (v === 'gzip') return 'gzip:1';
  const m = /^(zstd|gzip):(\d{1,2})$/.exec(v);
  const range = m ? LEVELS[m[1]!] : undefined;
  if (!m || !range) throw new UserError(`${what}: '${value}' is not a codec`, HINT, 2);
  const level = Number(m[2]);
  if (level < range[0] || level > range[1]) throw new UserError(`${what}: level ${level} of ${m[1]} is out of range ${range[0]}..${range[1]}`, HINT, 2);
  return `${m[1]}:${level}`;
}

/** The agent's own setting: the flag, then the environment; undefined when none is given. */
export function compressOf(flag: string | undefined, gzip?: boolean): string | undefined {
  if (flag !== undefined) return parseCompress(flag, '--compress');
  if (gzip !== undefined) return gzip ? 'gzip:1' : 'none';
  const env = envValue('CAIRN_COMPRESS');
  if (env !== undefined) return parseCompress(env, 'CAIRN_COMPRESS');
  const dmtcp = envValue('DMTCP_GZIP');
  if (dmtcp !== undefined) return dmtcp === '0' ? 'none' : 'gzip:1';
  return undefined;
}

/** image.proto PageCodec -> the spec that writes it again. */
export function codecSpec(codec: number): string {
  return codec === 1 ? 'zstd:1' : codec === 2 ? 'gzip:1' : 'none';
}

export const CODEC_NAMES = ['none', 'zstd', 'gzip'];
