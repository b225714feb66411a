#include "progress.h"

#include <atomic>

namespace cairn {

namespace {
std::atomic<uint64_t> done{0}, total{0};
}

void progress_reset(uint64_t t) {
  done = 0;
  total = t;
}
void progress_add_total(uint64_t n) { total += n; }
void progress_add(uint64_t n) { done += n; }
void progress_set_done(uint64_t n) { done = n; }
Progress progress_get() { return Progress{done.load(), total.load()}; }

}  // namespace cairn
