#include "huge_buffer.h"

#include <sys/mman.h>

namespace cairn {

namespace {
constexpr size_t kHuge = 2u << 20;
}

uint8_t *map_huge_buffer(size_t bytes) {
  // Over-map by a huge page and trim both ends, so the buffer starts on a 2 MiB boundary.
  const size_t len = (bytes + kHuge - 1) / kHuge * kHuge;
  void *m = mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  const uintptr_t start = (uintptr_t(m) + kHuge - 1) & ~uintptr_t(kHuge - 1);
  if (start > uintptr_t(m)) munmap(m, start - uintptr_t(m));
  const uintptr_t tail = uintptr_t(m) + len + kHuge;
  if (tail > start + len) munmap(reinterpret_cast<void *>(start + len), tail - (start + len));
  madvise(reinterpret_cast<void *>(start), len, MADV_HUGEPAGE);   // best effort
  return reinterpret_cast<uint8_t *>(start);
}

void unmap_huge_buffer(uint8_t *p, size_t bytes) {
  if (p) munmap(p, (bytes + kHuge - 1) / kHuge * kHuge);
}

}  // namespace cairn
