// Process-level state that is neither memory nor descriptors: pending signals (process-wide
// and per thread, with their siginfo), interval timers, POSIX timers, personality, nice,
// CPU affinity, scheduling policy, per-thread comm and timer slack, no_new_privs, dumpable.
// Dump side (engine thread) and the plan side (native/include/plan.h); the restorer and
// restore.cc put it back.
#pragma once
#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "../include/plan.h"
#include "image.h"

namespace cairn {

// From outside, no injection: this thread's pending signals, affinity, nice, scheduling
// policy, comm, no_new_privs. `host_tid` is ptrace-stopped by us. Throws naming pid and thread.
void dump_thread_outside(pid_t pid, pid_t host_tid, ThreadImage &t);

// Runs one injected syscall in the (stopped, all-signals-blocked) leader: nr, a1..a4.
using InjectFn = std::function<long(long, long, long, long, long)>;
using PeekFn = std::function<bool(uint64_t addr, void *buf, size_t len)>;

// The leader's part, with injected syscalls (scratch: kScratch bytes of its memory that the
// caller saves and puts back): process-wide pending signals, getitimer, POSIX timers
// (/proc/PID/timers + timer_gettime), personality, dumpable. Throws std::runtime_error.
void dump_process_injected(pid_t pid, pid_t leader, const InjectFn &inject, const PeekFn &peek, uint64_t scratch,
                           ProcessImage &img);

// While it lives, a non-dumpable process is dumpable (its /proc files are root-owned
// otherwise, and the dump could not read its descriptors); put back on destruction.
// Injects into the stopped leader; does nothing for a dumpable process.
class DumpableGuard {
 public:
  DumpableGuard(pid_t pid, pid_t leader);
  ~DumpableGuard();
  DumpableGuard(const DumpableGuard &) = delete;
  DumpableGuard &operator=(const DumpableGuard &) = delete;
  bool changed() const { return changed_; }   // it was not dumpable

 private:
  pid_t pid_, leader_;
  bool changed_ = false;
};

// The plan's part: per-thread comm/no_new_privs/timer slack, pending signals, timers, itimers,
// personality, dumpable. `refuse` throws with a one-line reason.
void plan_process_state(const ProcessImage &img, plan_hdr &h, std::vector<plan_thread> &threads,
                        std::vector<plan_sig> &sigs, std::vector<plan_timer> &timers,
                        const std::function<void(const std::string &)> &refuse);

// Restore, by the agent after the threads are parked (host tid -> its image): nice, CPU
// affinity and scheduling policy. Best effort where the restart machine cannot give the same
// (fewer CPUs, a nice or policy an unprivileged user may not set): the restore goes on with
// what it has.
void restore_thread_attrs(pid_t host_tid, const ThreadImage &t);

}  // namespace cairn
