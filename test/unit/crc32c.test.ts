// The CLI's and the agent's crc32c (common/crc32c.ts, eight bytes per step) against a bitwise
// reference and the engine's (the crc32 instruction): images written by one are checked by
// the other.
import test from 'ava';
import crypto from 'node:crypto';
import { crc32c } from '../../common/crc32c.js';
import { loadEngine } from '../../agent/engine-api.js';

function reference(buf: Uint8Array, seed = 0): number {
  let c = ~seed >>> 0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (0x82f63b78 ^ (c >>> 1)) >>> 0 : c >>> 1;
  }
  return ~c >>> 0;
}

test('crc32c: the check value, every length 0-64 and offset 0-7, seeds, and the engine\'s on 4 MB', (t) => {
  t.is(crc32c(Buffer.from('123456789')), 0xe3069283);
  const data = crypto.randomBytes(80);
  for (let off = 0; off < 8; off++) {
    for (let len = 0; len <= 64; len++) {
      const piece = data.subarray(off, off + len);
      t.is(crc32c(piece), reference(piece), `length ${len} at offset ${off}`);
    }
  }
  // seeded: a crc carried on over a second piece
  const a = data.subarray(0, 37), b = data.subarray(37);
  t.is(crc32c(b, crc32c(a)), crc32c(data));
  const engine = loadEngine();
  try {
    const big = crypto.randomBytes(4 * 2 ** 20 + 5);
    t.is(crc32c(big), engine.crc32c(big));
    t.is(crc32c(big.subarray(3), 0x12345678), engine.crc32c(big.subarray(3), 0x12345678));
  } finally {
    engine.close();
  }
});
