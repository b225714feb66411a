// Open file descriptions shared between processes of a job (fork, SCM_RIGHTS): the agent
// creates each once and passes it to every restorer of the job, which dup's it into place,
// so the processes share it again (offset, flags, the pipe itself).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "image.h"
#include "sockets.h"

namespace cairn {

// Bytes to send through a job object before the processes holding it (indexes into the
// job's images) may run: a TCP connection's bytes in flight that did not fit at once.
struct HeldRefill {
  std::vector<size_t> procs;
  Refill r;                                      // r.fd is one of JobObjects::fds (not owned)
};

struct JobObjects {
  std::vector<int> fds;                          // agent descriptors, close-on-exec
  std::vector<HeldRefill> refills;
  std::vector<std::map<int32_t, int>> by_fd;     // per process: fd -> index into fds
  std::vector<std::map<uint32_t, int>> by_shm;   // per process: shared_files index -> index into fds
  JobObjects() = default;
  JobObjects(const JobObjects &) = delete;
  JobObjects &operator=(const JobObjects &) = delete;
  JobObjects(JobObjects &&o) noexcept
      : fds(std::move(o.fds)), refills(std::move(o.refills)), by_fd(std::move(o.by_fd)), by_shm(std::move(o.by_shm)) {
    o.fds.clear();
  }
  JobObjects &operator=(JobObjects &&o) noexcept {
    std::swap(fds, o.fds);
    std::swap(refills, o.refills);
    std::swap(by_fd, o.by_fd);
    std::swap(by_shm, o.by_shm);
    return *this;
  }
  ~JobObjects();
};

// Finds what several processes share (by Fd.ofd, and pipes by inode) and creates it: files
// reopened at their offset, pipes with their bytes in flight read from image_paths[i].
// Throws a one-line error naming the process and descriptor for a kind that cannot be shared yet.
JobObjects make_job_objects(const std::vector<const ProcessImage *> &procs, const std::vector<std::string> &image_paths);

// What make_job_objects would refuse, found without making anything: called at checkpoint
// time, so a job that could not come back is told so while it still runs.
void check_job_objects(const std::vector<const ProcessImage *> &procs);

}  // namespace cairn
