// Per-process attributes (mm fields, auxv, comm, exe, cwd, umask, rlimits, signal
// dispositions, per-thread state) and the dump of one frozen process. Engine thread only.
#pragma once
#include <sys/types.h>
#include <cstdint>
#include <string>
#include <vector>

#include "files.h"
#include "image.h"
#include "pagecodec.h"

namespace cairn {

// --- small /proc helpers shared by the engine ---
std::string errno_str(int e);
bool read_text(const std::string &path, std::string &out);   // whole file; false with errno set
std::string comm_of(pid_t pid);                              // "?" when gone
std::string who(pid_t pid);                                  // "pid N (comm)", for error messages
[[noreturn]] void fail_pid(pid_t pid, const std::string &what);

struct DumpOptions {
  std::string image_path;
  std::vector<StdioIdentity> stdio;   // the agent's fds 0, 1, 2
  int64_t mono_offset_ns = 0, boot_offset_ns = 0;
  Codec codec;                        // how page data is stored
};

struct DumpResult {
  ProcessImage image;
  uint64_t pages_end = 0;
  double ms_state = 0, ms_memory = 0;   // where the time went, for people tuning it
  double ms_pages_read = 0;             // of ms_memory: pagemap + process_vm_readv + crc
  uint64_t pages_stored = 0;            // bytes of non-zero pages (before compression)
};

// `tids`: the host tids the engine froze (leader first). Registers of every thread are
// restored exactly as found before this returns, whether it succeeds or throws.
DumpResult dump_process(pid_t pid, const std::vector<pid_t> &tids, const DumpOptions &opts);

}  // namespace cairn
