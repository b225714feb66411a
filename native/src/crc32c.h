// CRC-32C (Castagnoli) of page runs and metadata: SSE4.2 when the CPU has it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace cairn {

// Standard CRC-32C of data, continuing from `crc` (0 to start): crc32c(crc32c(0, a), b) is
// the CRC of a followed by b.
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

// crc32c(crc, `len` zero bytes) without touching them (holes, zero pages): O(log len).
uint32_t crc32c_zeros(uint32_t crc, uint64_t len);

// crc32c(0, page, 4096), ~2x as fast: a page is too short for crc32c's three streams of
// 32 KiB, so it gets three streams of its own. Checksums of every page of an image use it.
uint32_t crc32c_page(const void *page);

// The CRC of a followed by b from crc32c(0, a), crc32c(0, b) and b's length (parallel checks).
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

}  // namespace cairn
