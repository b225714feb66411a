// Restore of one process (runs on the engine thread). Implemented in restore.cc / plan.cc.
#pragma once
#include <sys/types.h>
#include <cstdint>
#include <string>
#include <vector>
#include "image.h"

namespace cairn {

struct RestoreRequest {
  ProcessImage image;
  std::string image_path, nsinit_path, restorer_path, log_path, hostname;
  std::vector<int> pass_fds;           // agent fds (valid while the request runs)
  int64_t mono_offset_ns = 0, boot_offset_ns = 0;
  std::vector<std::string> env;        // environment for nsinit (not the job's: the image has it)
};

struct JobProcessInfo {
  pid_t pid = 0, ns_pid = 0, init_pid = 0, helper_pid = 0;
  int helper_pidfd = -1;               // pidfd of helper_pid, for exit watching
};

// Builds the flat plan (native/include/plan.h) for `image`. Throws std::runtime_error
// with a one-line message if the image cannot be expressed as a plan.
std::vector<uint8_t> build_plan(const ProcessImage &image, const std::vector<int> &pass_index_of_inherited);

// Starts nsinit in restore mode, seizes the restorer, waits for its int3 in every thread,
// unmaps the restorer, loads registers/xstate/sigmask/rlimits and detaches.
// Throws std::runtime_error with a one-line message (incl. the restorer's last log line).
JobProcessInfo restore_process(const RestoreRequest &req);

// Re-reads every page run and checks its crc32c. Throws naming the first bad run.
void verify_pages(const std::string &image_path, const ProcessImage &image);

}  // namespace cairn
