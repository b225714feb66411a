// crc32c (Castagnoli) in TypeScript for the small things (headers, metadata); page data
// is checksummed by the native engine with the SSE4.2 instruction, same polynomial.
// Eight bytes per step (slicing-by-8: eight tables, one per byte position): the metadata of
// a 4 GiB image holds 4 MB of page crcs, which one byte per step took ~10 ms to check, on
// the restart's path before its memory starts to go in (now ~4 ms).
const tables = (() => {
  const t = new Uint32Array(256 * 8);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  // t[k * 256 + i]: the register after byte i followed by k zero bytes
  for (let k = 1; k < 8; k++) {
    for (let i = 0; i < 256; i++) {
      const prev = t[(k - 1) * 256 + i]!;
      t[k * 256 + i] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
})();

export function crc32c(buf: Uint8Array, seed = 0): number {
  const t = tables;
  let c = ~seed >>> 0;
  let i = 0;
  for (const whole = buf.length - (buf.length & 7); i < whole; i += 8) {
    const lo = (c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24))) >>> 0;
    c = t[1792 + (lo & 0xff)]! ^ t[1536 + ((lo >>> 8) & 0xff)]! ^ t[1280 + ((lo >>> 16) & 0xff)]! ^ t[1024 + (lo >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^ t[512 + buf[i + 5]!]! ^ t[256 + buf[i + 6]!]! ^ t[buf[i + 7]!]!;
  }
  for (; i < buf.length; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
