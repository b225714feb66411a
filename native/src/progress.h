// Progress of the engine's long work (page data written at dump, read back at restore), for
// progress bars: updated by the engine thread and its workers, read from the JS thread.
#pragma once
#include <cstdint>

namespace cairn {

struct Progress {
  uint64_t done = 0, total = 0;   // bytes of memory (before compression, zero pages included)
};

void progress_reset(uint64_t total);    // a new piece of work
void progress_add_total(uint64_t n);
void progress_add(uint64_t n);
void progress_set_done(uint64_t n);
Progress progress_get();

}  // namespace cairn
