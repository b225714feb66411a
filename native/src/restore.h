// Restore of one process (runs on the engine thread). Implemented in restore.cc / plan.cc.
#pragma once
#include <sys/types.h>
#include <cstdint>
#include <string>
#include <map>
#include <vector>
#include "image.h"

namespace cairn {

struct RestoreProc {
  ProcessImage image;
  std::string image_path;
};

struct RestoreRequest {
  std::vector<RestoreProc> procs;      // every live process of the job (zombies are in their parents' images)
  std::string nsinit_path, restorer_path, log_path, hostname;
  std::vector<int> pass_fds;           // agent fds (valid while the request runs)
  int64_t mono_offset_ns = 0, boot_offset_ns = 0;
  // The host's CLOCK_MONOTONIC and CLOCK_BOOTTIME when the offsets were computed (0: as
  // given): the offsets are moved back by the time that passes until the job's time
  // namespace is made, so the job's clocks go on from the checkpoint from then on.
  int64_t offsets_at_mono_ns = 0, offsets_at_boot_ns = 0;
  std::vector<std::string> env;        // environment for nsinit (not the job's: the image has it)
  // Files that grew after the checkpoint, cut back to their saved size once every page has
  // been read and found intact, before the job runs: a damaged image changes nothing.
  std::vector<std::pair<std::string, uint64_t>> cut_back;
  bool pages_checked = false;          // the caller checked every page already (verify_pages)
  bool wait_for_go = false;            // the job's time namespace waits for restore_go() (the job runs after it)
};

struct JobProcessInfo {
  pid_t pid = 0, ns_pid = 0, init_pid = 0, helper_pid = 0;
  int helper_pidfd = -1;               // pidfd of helper_pid, for exit watching
  int64_t mono_offset_ns = 0, boot_offset_ns = 0;   // the time namespace's offsets
  // Processes left traced (host pid -> tids, leader first) until a pump has sent the bytes
  // in flight their sending ends owe (start_pump): the caller registers them as frozen.
  std::vector<std::pair<pid_t, std::vector<pid_t>>> held;
};

// Which descriptors a restorer gets passed instead of making them itself: the launcher's
// stdio (by inherited_index) and the job objects shared with other processes (by fd).
struct PassMap {
  std::vector<int> inherited;          // inherited_index -> passed index
  std::map<int32_t, int> by_fd;        // this process's fd -> passed index
  std::map<uint32_t, int> by_shm;      // index into image.shared_files -> passed index (shared with other processes)
  uint32_t pass_floor = 0;             // passed k is fd pass_floor + k (0: computed for this process alone)
  uint32_t npassed = 0;
};

// Lowest pass_floor for a job whose highest descriptor number is max_fd: above every
// process's descriptors and above where nsinit hands them over (RFD_PASSED + k).
uint32_t pass_floor_for(int32_t max_fd, uint32_t npassed);

// Builds the flat plan (native/include/plan.h) for `image`. Throws std::runtime_error
// with a one-line message if the image cannot be expressed as a plan. check_pages: the
// restorer checks each page of the VMA runs against the image's page crcs as it fills them.
std::vector<uint8_t> build_plan(const ProcessImage &image, const PassMap &pass, bool check_pages = false);

// Restores a whole job: starts nsinit in restore mode, seizes the main restorer (which
// creates the rest of the tree, followed through fork events), waits for the int3 of every
// thread of every process, unmaps the restorers, loads registers/xstate/sigmask/rlimits
// and detaches.
// Throws std::runtime_error with a one-line message (incl. the restorer's last log line).
JobProcessInfo restore_job(const RestoreRequest &req);

// For a restore with wait_for_go, from another thread, before it starts or while it runs:
// true lets it make the job's time namespace and go on; false abandons it (it fails before
// any of the program has run).
// restore_go_reset() before each such restore.
void restore_go(bool go);
void restore_go_reset();

// Which page runs verify_pages reads and checks.
enum class PageRuns {
  All,
  Memory,   // the process's memory (the bulk of an image)
  Others,   // everything else: shared files, bytes in pipes and terminals, SysV IPC objects
};

// Re-reads page runs and checks their crc32c. Throws naming the first bad run.
void verify_pages(const std::string &image_path, const ProcessImage &image, PageRuns which = PageRuns::All);

}  // namespace cairn
