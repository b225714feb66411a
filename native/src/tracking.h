// Written-page tracking between checkpoints, for incremental images: a userfaultfd of the
// process in asynchronous write-protect mode, held by the engine. After a checkpoint the
// process's anonymous memory is write-protected; its first write to a page clears the
// protection in the kernel (no fault reaches us, one minor fault for the process), and the
// next checkpoint's PAGEMAP_SCAN lists exactly the pages written since. Engine thread only.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace cairn {

struct MapEntry;
struct ProcessImage;

// Private anonymous writable memory: what userfaultfd write-protect can track.
bool trackable(const MapEntry &m);

struct Tracker {
  int uffd = -1;     // the process's userfaultfd context, ours
  int pidfd = -1;    // the process, so that a reused pid is never taken for it
  // Ranges we registered; a VMA inside one that still shows VM_UFFD_WP is tracked by us.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  // A copy made before a freeze protected pages again and was then given up: what was
  // written since the last image is no longer known, so the next image is full.
  bool base_lost = false;
  Tracker() = default;
  Tracker(const Tracker &) = delete;
  Tracker &operator=(const Tracker &) = delete;
  ~Tracker();
  bool alive() const;   // the process it was made for still exists
  bool covers(uint64_t start, uint64_t end) const;
};

// Makes a userfaultfd in the frozen process (injected; UFFD_USER_MODE_ONLY, allowed to
// ordinary users), takes it (pidfd_getfd) and closes it there: the process keeps no
// descriptor of ours. False with *why_not when this kernel or process does not allow it.
bool arm_tracker(pid_t pid, pid_t leader, Tracker &t, std::string *why_not);

// Registers and write-protects these ranges (anonymous private memory not tracked yet);
// a range the kernel refuses (registered by the process's own userfaultfd ...) stays
// untracked, and is simply saved whole each time.
void protect_ranges(Tracker &t, const std::vector<std::pair<uint64_t, uint64_t>> &ranges);

// protect_ranges of the trackable memory in `maps` (VmFlags read) that is not tracked yet,
// except mostly empty mappings. Write-protecting a page never touched leaves a marker in a
// page table: a mapping is protected only if it is at most 8 times the size of its pages in
// `plan` (plan_memory's, of the same maps), plus 1 GiB, so that those page tables stay
// under 1/64 of the memory saved plus 2 MiB. A sparse reservation of terabytes (sanitizer
// shadow memory, some runtimes' heaps) would otherwise take page tables of gigabytes; its
// pages are simply saved whole each time.
void protect_untracked(Tracker &t, const std::vector<MapEntry> &maps, const ProcessImage &plan);

// The pages of [start, end) written since they were protected, as ranges; protects them
// again in the same call. False if the range cannot be scanned that way (then: not tracked).
bool written_since(int pagemap_fd, uint64_t start, uint64_t end, std::vector<std::pair<uint64_t, uint64_t>> &out);

}  // namespace cairn
