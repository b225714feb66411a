// Threads kept for the page workers of every dump. What a worker allocates (its read
// buffer, a codec's output and context) is faulted in once for the agent's life, not at
// every checkpoint: on the test VM a fresh page costs ~10 µs, ~20 ms per 8 MiB buffer and
// worker, and a 1 GiB zstd checkpoint took ~15% longer with per-dump threads and buffers.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <functional>

namespace cairn {

/** Runs fn on n kept threads at once (never on the caller) and returns when all have. Dumps
    running side by side each get threads of their own: none waits behind another's work. */
void run_on_workers(unsigned n, const std::function<void()> &fn);

/** This thread's page buffer of `bytes` (the same size at every call), mapped on first use
    (in 2 MiB pages where it can: huge_buffer.h) and kept as long as the thread; nullptr if it
    cannot be mapped. */
uint8_t *worker_buffer(size_t bytes);

}  // namespace cairn
