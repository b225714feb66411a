// Per-process attributes (mm fields, auxv, comm, exe, cwd, umask, rlimits, signal
// dispositions, per-thread state) and the dump of one frozen process. Engine thread only.
#pragma once
#include <sys/types.h>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "files.h"
#include "image.h"
#include "pagecodec.h"
#include "precopy.h"
#include "tracking.h"

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
  // Write the pages from a copy-on-write snapshot (snapshot.h), so that the job can run
  // again before they are written; `reaper` is the job's PID 1 (host pid), `leader_of`
  // finds the frozen processes above this one.
  bool snapshot = false;
  pid_t reaper = 0;
  std::function<pid_t(pid_t)> leader_of;
  // Incremental images (uncompressed only): the process's written-page tracker (armed here
  // if it is not yet; null: no tracking), and the previous image of the same process with
  // its path relative to the job directory (null: this image is full).
  Tracker *tracker = nullptr;
  const ProcessImage *base = nullptr;
  std::string base_file;
  // The copy of its memory made before the freeze (precopy.h), then also `base` with
  // base_file "": its image file is continued (taken from it), and only the pages written
  // since are stored.
  Precopy *precopy = nullptr;
};

struct DumpResult {
  ProcessImage image;
  uint64_t pages_end = 0;
  double ms_state = 0, ms_memory = 0;   // where the time went, for people tuning it
  double ms_pages_read = 0;             // of ms_memory: pagemap + process_vm_readv + crc
  uint64_t pages_stored = 0;            // bytes of non-zero pages (before compression)
  bool snapshot = false;                // the pages came from a snapshot
  uint64_t referenced = 0;              // bytes of pages left in older images (incremental)
  std::string no_tracking;              // why written pages are not tracked, when asked
};

// A dump whose frozen part is done: the image's metadata and everything but private memory
// is written; the pages are not yet.
struct PendingDump {
  DumpResult res;
  int fd = -1;                  // the image file
  std::vector<bool> zero_ok;    // plan_memory's
  uint64_t extras_end = 0;      // first byte after what is written
  Codec codec;
  uint64_t logical_start = 0;   // compressed after a copy before the freeze: where its runs end
  pid_t snapshot = 0;           // host pid of its snapshot; 0: the pages come from the process
  std::string no_snapshot;      // why there is none, when one was asked for
  // Byte ranges of the image that the copy made before the freeze wrote and no run refers to
  // any more (pages written since): holes are punched there once the pages are written.
  std::vector<std::pair<uint64_t, uint64_t>> superseded;
  PendingDump() = default;
  PendingDump(const PendingDump &) = delete;
  PendingDump &operator=(const PendingDump &) = delete;
  ~PendingDump();               // discard_dump
};

// The frozen part of the dump. `tids`: the host tids the engine froze (leader first).
// Registers of every thread are restored exactly as found before this returns, whether it
// succeeds or throws.
std::unique_ptr<PendingDump> dump_process(pid_t pid, const std::vector<pid_t> &tids, const DumpOptions &opts);

// The pages, from the snapshot (the process may run meanwhile) or, without one, from the
// process itself (it must still be frozen), stored from data_start (rounded up to a page,
// and never before what is already written) on. Then the image file is closed and the
// snapshot dropped. Throws naming pid.
DumpResult finish_dump(pid_t pid, PendingDump &p, uint64_t data_start);

// Gives up a pending dump: closes the image file, drops the snapshot.
void discard_dump(PendingDump &p);

}  // namespace cairn
