#include "crc32c.h"

#include <nmmintrin.h>
#include <cstring>

namespace cairn {

namespace {

struct Table {
  uint32_t t[256];
  Table() {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
      t[i] = c;
    }
  }
};

uint32_t crc_soft(uint32_t c, const uint8_t *p, size_t n) {
  static const Table tab;
  while (n--) c = tab.t[(c ^ *p++) & 0xff] ^ (c >> 8);
  return c;
}

// Appending zero bytes to a CRC register is linear over GF(2): multiply by the 32x32 matrix of
// one zero bit, squared up to the length (zlib's crc32_combine, with the CRC-32C polynomial).
uint32_t gf2_times(const uint32_t *mat, uint32_t vec) {
  uint32_t sum = 0;
  for (; vec; vec >>= 1, mat++)
    if (vec & 1) sum ^= *mat;
  return sum;
}

void gf2_square(uint32_t *square, const uint32_t *mat) {
  for (int n = 0; n < 32; n++) square[n] = gf2_times(mat, mat[n]);
}

// reg * x^(8 len): the register after `len` zero bytes (no pre/post inversion).
uint32_t shift(uint32_t reg, uint64_t len) {
  if (len == 0) return reg;
  uint32_t even[32], odd[32];
  odd[0] = 0x82F63B78u;   // one zero bit
  for (uint32_t n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row;
  gf2_square(even, odd);   // two zero bits
  gf2_square(odd, even);   // four
  for (;;) {
    gf2_square(even, odd);   // one zero byte, then 4, 16, ...
    if (len & 1) reg = gf2_times(even, reg);
    len >>= 1;
    if (!len) break;
    gf2_square(odd, even);
    if (len & 1) reg = gf2_times(odd, reg);
    len >>= 1;
    if (!len) break;
  }
  return reg;
}


// Three independent streams of kStream bytes, joined with the precomputed x^(8 kStream)
// operator: the crc32 instruction has a 3-cycle latency and 1-cycle throughput, so one
// dependency chain uses a third of it.
constexpr size_t kStream = 32768;

struct ShiftMatrix {
  uint32_t m[32];
  ShiftMatrix() {
    for (int k = 0; k < 32; k++) m[k] = shift(1u << k, kStream);
  }
};

__attribute__((target("sse4.2"))) uint32_t crc_hw(uint32_t c32, const uint8_t *p, size_t n) {
  uint64_t c = c32;
  while (n && (reinterpret_cast<uintptr_t>(p) & 7)) {
    c = _mm_crc32_u8(uint32_t(c), *p++);
    n--;
  }
  if (n >= 3 * kStream) {
    static const ShiftMatrix sm;
    while (n >= 3 * kStream) {
      uint64_t c1 = 0, c2 = 0;
      for (size_t i = 0; i < kStream; i += 8) {
        uint64_t a, b, d;
        memcpy(&a, p + i, 8);
        memcpy(&b, p + kStream + i, 8);
        memcpy(&d, p + 2 * kStream + i, 8);
        c = _mm_crc32_u64(c, a);
        c1 = _mm_crc32_u64(c1, b);
        c2 = _mm_crc32_u64(c2, d);
      }
      c = gf2_times(sm.m, gf2_times(sm.m, uint32_t(c)) ^ uint32_t(c1)) ^ uint32_t(c2);
      p += 3 * kStream;
      n -= 3 * kStream;
    }
  }
  while (n >= 32) {
    uint64_t a, b, d, e;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    memcpy(&d, p + 16, 8);
    memcpy(&e, p + 24, 8);
    c = _mm_crc32_u64(c, a);
    c = _mm_crc32_u64(c, b);
    c = _mm_crc32_u64(c, d);
    c = _mm_crc32_u64(c, e);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t a;
    memcpy(&a, p, 8);
    c = _mm_crc32_u64(c, a);
    p += 8;
    n -= 8;
  }
  while (n--) c = _mm_crc32_u8(uint32_t(c), *p++);
  return uint32_t(c);
}

const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");

}  // namespace

uint32_t crc32c_zeros(uint32_t crc, uint64_t len) { return ~shift(~crc, len); }

// Shifting by one page, the length incremental images combine per page (a million times for
// 4 GiB): a table per byte of the crc instead of the O(log n) matrix powers.
struct PageShift {
  uint32_t t[4][256];
  PageShift() {
    for (int k = 0; k < 4; k++)
      for (uint32_t v = 0; v < 256; v++) t[k][v] = shift(v << (8 * k), 4096);
  }
  uint32_t apply(uint32_t c) const { return t[0][c & 255] ^ t[1][(c >> 8) & 255] ^ t[2][(c >> 16) & 255] ^ t[3][c >> 24]; }
};

uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
  if (len_b == 4096) {
    static const PageShift ps;
    return ps.apply(crc_a) ^ crc_b;
  }
  return shift(crc_a, len_b) ^ crc_b;
}

namespace {

// x^(8 len) as a table per byte of the crc: applied twice per page.
struct ShiftTable {
  uint32_t t[4][256];
  explicit ShiftTable(uint64_t len) {
    for (int k = 0; k < 4; k++)
      for (uint32_t v = 0; v < 256; v++) t[k][v] = shift(v << (8 * k), len);
  }
  uint32_t apply(uint32_t c) const { return t[0][c & 255] ^ t[1][(c >> 8) & 255] ^ t[2][(c >> 16) & 255] ^ t[3][c >> 24]; }
};

constexpr size_t kPageA = 1368, kPageB = 1368, kPageC = 4096 - kPageA - kPageB;   // multiples of 8

__attribute__((target("sse4.2"))) uint32_t page_hw(const uint8_t *p) {
  static const ShiftTable sb(kPageB), sc(kPageC);
  uint64_t a = 0xffffffffu, b = 0, c = 0;
  for (size_t i = 0; i < kPageC; i += 8) {
    uint64_t x, y, z;
    memcpy(&x, p + i, 8);
    memcpy(&y, p + kPageA + i, 8);
    memcpy(&z, p + kPageA + kPageB + i, 8);
    a = _mm_crc32_u64(a, x);
    b = _mm_crc32_u64(b, y);
    c = _mm_crc32_u64(c, z);
  }
  for (size_t i = kPageC; i < kPageA; i += 8) {   // the first two streams' last bytes
    uint64_t x, y;
    memcpy(&x, p + i, 8);
    memcpy(&y, p + kPageA + i, 8);
    a = _mm_crc32_u64(a, x);
    b = _mm_crc32_u64(b, y);
  }
  return ~(sc.apply(sb.apply(uint32_t(a)) ^ uint32_t(b)) ^ uint32_t(c));
}

}  // namespace

uint32_t crc32c_page(const void *page) {
  return kHaveSse42 ? page_hw(static_cast<const uint8_t *>(page)) : crc32c(0, page, 4096);
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len) {
  const uint8_t *p = static_cast<const uint8_t *>(data);
  uint32_t c = ~crc;
  c = kHaveSse42 ? crc_hw(c, p, len) : crc_soft(c, p, len);
  return ~c;
}

}  // namespace cairn
