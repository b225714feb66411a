// Memory of a frozen process: maps, pagemap, page runs, page data.
#pragma once
#include <sys/types.h>
#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <string>
#include <vector>

#include "image.h"
#include "pagecodec.h"

namespace cairn {

struct MapEntry {
  uint64_t start = 0, end = 0, offset = 0, inode = 0;
  unsigned dev_major = 0, dev_minor = 0;
  char perms[5] = "----";
  std::string path;   // file path, [heap], [stack], [vdso], [anon:...] or empty
  uint32_t flags = 0;   // kVma* bits from the VmFlags line
  bool uffd_wp = false;  // VmFlags "uw": registered for userfaultfd write-protect
};

// A maps list by start address: the entry a VMA of a plan still is (the same bounds), or
// null (the mapping changed since, or is not there).
class MapsByStart {
 public:
  explicit MapsByStart(const std::vector<MapEntry> &maps) {
    for (const MapEntry &m : maps) by_start_[m.start] = &m;
  }
  const MapEntry *same(uint64_t start, uint64_t end) const {
    auto it = by_start_.find(start);
    return it != by_start_.end() && it->second->end == end ? it->second : nullptr;
  }

 private:
  std::map<uint64_t, const MapEntry *> by_start_;
};

// True if the 4 KiB page at p is all zeros (such pages are never stored).
bool zero_page(const uint8_t *p);

// /proc/PID/smaps (maps plus VmFlags; it walks the page tables, a cost like a pagemap scan).
std::vector<MapEntry> read_maps(pid_t pid);   // throws naming pid

// /proc/PID/maps: the same entries without VmFlags (flags and uffd_wp left unset), read
// without walking the page tables; take_vmflags then sets them from read_maps' list, and
// throws naming pid if the two lists are not of the same mappings.
std::vector<MapEntry> read_maps_only(pid_t pid);
void take_vmflags(pid_t pid, std::vector<MapEntry> &maps, const std::vector<MapEntry> &with_flags);

// [vvar], [vvar_vclock], [vdso] addresses (0 when absent).
SpecialMappings special_mappings(const std::vector<MapEntry> &maps);

struct MemoryStats {
  uint64_t vmas = 0, runs = 0, bytes = 0;
  uint64_t logical_end = 0;   // the runs' offsets stored end before it
  uint64_t stored = 0;   // bytes of pages with data (the rest are zero pages, never stored)
  double read_ms = 0;
};

// Which pages of a frozen process are saved: fills img.vmas and their runs (addresses and
// lengths; offsets and checksums come with the copy). Returns, per VMA, whether unreadable
// bytes may be stored as zeros (a mapping beyond the end of its file). Throws naming pid.
std::vector<bool> plan_memory(pid_t pid, const std::vector<MapEntry> &maps, ProcessImage &img);

// False when a copy-on-write snapshot of the process would not hold its pages: memory marked
// MADV_DONTFORK (absent in a child) or MADV_WIPEONFORK (zeros in a child).
bool snapshot_holds_memory(const ProcessImage &img);

// Incremental images. In the VMAs for which written(vma, ranges) gives the pages written
// since `base` (the previous image of the same process, uncompressed) was taken, every page
// not written since and saved in base becomes a reference to where base has it (its own file,
// `base_file` relative to the job directory, or the older image base refers to: never a
// chain). `base_file` "" means base is this very image's copy made before the freeze
// (precopy.h): such pages stay where that copy put them (PageRun::in_place). The other pages
// stay to be stored. Returns the bytes referenced in other images. With `spent` (base itself,
// which the caller gives up) the page checksums of whole runs are moved, not copied: 4 MiB
// per 4 GiB, whose fresh pages fault one by one while the job is frozen.
using WrittenOf = std::function<bool(const VmaImage &, std::vector<std::pair<uint64_t, uint64_t>> &)>;
uint64_t reference_base(ProcessImage &img, const ProcessImage &base, const std::string &base_file, const WrittenOf &written,
                        ProcessImage *spent = nullptr);

// Where copy_memory stores pages. Raw pages go at their runs' offsets, which start at
// data_start; compressed frames go one after the other from data_start, while the runs'
// offsets (logical: where the pages are once the frames are decompressed) start at
// logical_start. A compressed copy made before the freeze keeps its logical range, and the
// frozen dump's frames continue it after the bytes written in between (precopy.h).
struct PageDest {
  int fd;
  uint64_t data_start;      // page aligned
  uint64_t logical_start;   // raw: must be data_start
  Codec codec;
  bool page_crcs = false;   // each run's pages' crc32c too (raw: always, for later references)
};

// The planned runs' bytes read from read_pid (the process itself, frozen, or its snapshot,
// whose memory is the same) and stored as `to` says (zero pages never: holes, or left out of
// frames). Sets the runs' offsets and crc32c, img.pages_codec, and appends to
// img.page_frames. Returns the first byte after the page data. Runs in an older image
// (reference_base) are left as they are. Throws naming pid.
uint64_t copy_memory(pid_t pid, pid_t read_pid, const PageDest &to, const std::vector<bool> &zero_ok, ProcessImage &img,
                     MemoryStats *stats = nullptr);

}  // namespace cairn
