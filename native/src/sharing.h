// Which descriptors of a job share one open file description (same offset, same flags):
// fork, dup and SCM_RIGHTS all share them. Found exactly with kcmp(KCMP_FILE).
#pragma once
#include <sys/types.h>
#include <cstdint>
#include <vector>

namespace cairn {

struct OfdId {
  pid_t pid = 0;      // host pid
  int fd = 0;
  uint32_t ofd = 0;   // job-wide id, 1-based: equal ids = one open file description
};

// Every descriptor of every process in pids, numbered by open file description. Descriptors
// that vanish meanwhile are left out. Throws naming the process when kcmp is refused.
std::vector<OfdId> open_file_descriptions(const std::vector<pid_t> &pids);

// True when two processes share one address space (a vfork child before its exec, or a
// clone(CLONE_VM) without CLONE_THREAD). Throws when kcmp is refused.
bool same_memory(pid_t a, pid_t b);

}  // namespace cairn
