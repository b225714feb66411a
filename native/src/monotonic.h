// Clock readings: CLOCK_MONOTONIC deadlines and short naps for the engine's bounded waits,
// and any clock in nanoseconds (the job's clocks at a checkpoint, time namespace offsets).
#pragma once
#include <cstdint>
#include <time.h>

namespace cairn {

inline int64_t mono_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

inline int64_t mono_ms() { return mono_us() / 1000; }

inline int64_t clock_ns(clockid_t c) {
  timespec ts;
  clock_gettime(c, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

inline void sleep_us(long us) {
  timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, nullptr);
}

}  // namespace cairn
