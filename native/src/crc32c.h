// CRC-32C (Castagnoli) of page runs and metadata: SSE4.2 when the CPU has it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace cairn {

// Standard CRC-32C of data, continuing from `crc` (0 to start): crc32c(crc32c(0, a), b) is
// the CRC of a followed by b.
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

}  // namespace cairn
