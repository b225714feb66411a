// File descriptor inventory of a process (/proc/PID/fd + fdinfo).
#pragma once
#include <sys/types.h>
#include <cstdint>
#include <vector>

#include "image.h"

namespace cairn {

// st_dev/st_ino of one of the agent's stdio descriptors (valid = false when closed).
struct StdioIdentity {
  bool valid = false;
  uint64_t dev = 0, ino = 0;
};

// Every descriptor of pid, in fd order. Throws a one-line error naming pid, fd and target
// for a descriptor cairn cannot save yet (socket, pipe, eventfd, deleted file, ...).
std::vector<FdImage> dump_fds(pid_t pid, const std::vector<StdioIdentity> &stdio);

}  // namespace cairn
