// Buffers the disk reads into (O_DIRECT) and the CPU then reads: in 2 MiB pages where the
// kernel gives them. On the test VM the first CPU access to a 4 KiB page the disk has just
// written costs about a fault per page, every time it is written again: checking the pages
// of a 4 GiB image through 4 MiB buffers took 2.4-2.8 s in 4 KiB pages, 1.04-1.08 s in 2 MiB
// pages (two threads, same run).
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cairn {

/** `bytes` of private memory, 2 MiB-aligned and advised MADV_HUGEPAGE (where transparent huge
    pages are off or none is free, ordinary pages); nullptr if it cannot be mapped. */
uint8_t *map_huge_buffer(size_t bytes);
void unmap_huge_buffer(uint8_t *p, size_t bytes);

/** A map_huge_buffer owned by a scope. */
struct HugeBuffer {
  explicit HugeBuffer(size_t bytes) : p(map_huge_buffer(bytes)), len(bytes) {}
  ~HugeBuffer() { unmap_huge_buffer(p, len); }
  HugeBuffer(const HugeBuffer &) = delete;
  HugeBuffer &operator=(const HugeBuffer &) = delete;
  uint8_t *p;
  size_t len;
};

}  // namespace cairn
