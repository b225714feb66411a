// A pool of threads that never end (the agent's life) for dump workers; see worker_pool.h.
#include "worker_pool.h"

#include <sys/mman.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace cairn {
namespace {

struct Batch {
  const std::function<void()> *fn;
  unsigned left;
};

struct Pool {
  std::mutex mu;
  std::condition_variable work, done;
  std::deque<Batch *> queue;   // one entry per task still to start
  unsigned idle = 0;           // threads waiting for work, or started and about to
};

// Never destroyed: its threads wait on it until the process exits.
Pool &pool() {
  static Pool *p = new Pool;
  return *p;
}

void thread_main() {
  Pool &p = pool();
  std::unique_lock<std::mutex> lk(p.mu);
  for (;;) {
    p.work.wait(lk, [&] { return !p.queue.empty(); });
    Batch *b = p.queue.front();
    p.queue.pop_front();
    p.idle--;
    lk.unlock();
    (*b->fn)();
    lk.lock();
    p.idle++;
    if (--b->left == 0) p.done.notify_all();
  }
}

struct Buffer {
  void *p = nullptr;
  size_t len = 0;
  ~Buffer() {
    if (p) munmap(p, len);
  }
};

}  // namespace

void run_on_workers(unsigned n, const std::function<void()> &fn) {
  if (n == 0) return;
  Pool &p = pool();
  Batch b{&fn, n};
  std::unique_lock<std::mutex> lk(p.mu);
  for (unsigned i = 0; i < n; i++) p.queue.push_back(&b);
  while (p.idle < p.queue.size()) {
    std::thread(thread_main).detach();
    p.idle++;
  }
  p.work.notify_all();
  p.done.wait(lk, [&] { return b.left == 0; });
}

uint8_t *worker_buffer(size_t bytes) {
  static thread_local Buffer buf;
  if (!buf.p) {
    void *m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    buf.p = m;
    buf.len = bytes;
  }
  return static_cast<uint8_t *>(buf.p);
}

}  // namespace cairn
