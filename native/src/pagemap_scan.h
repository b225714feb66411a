// PAGEMAP_SCAN (Linux 6.7) on /proc/PID/pagemap: the kernel walks the page tables and returns
// matching ranges, so a huge sparse reservation (JVM heaps, sanitizer shadows) costs nothing;
// with PM_SCAN_WP_MATCHING it also write-protects what it returns (written-page tracking).
// Defined here because the distribution's headers predate it.
#pragma once
#include <sys/ioctl.h>

#include <cstdint>

namespace cairn::pagemap {

struct pm_scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
      category_anyof_mask, return_mask;
};
struct page_region {
  uint64_t start, end, categories;
};
constexpr unsigned long kScan = _IOWR('f', 16, struct pm_scan_arg);
// Flags.
constexpr uint64_t kWpMatching = 1 << 0, kCheckWpAsync = 1 << 1;
// Categories.
constexpr uint64_t kIsWritten = 1 << 1, kIsFile = 1 << 2, kIsPresent = 1 << 3, kIsSwapped = 1 << 4, kIsPfnZero = 1 << 5;

}  // namespace cairn::pagemap
