// The copy of a large process's memory made before the freeze, while it runs: the pages go
// to the image file at once, its written-page tracker notes every page the process writes
// from then on, and the frozen dump then stores only those (process.h). The pause of a large
// checkpoint is that of an incremental one instead of a copy of the page tables (snapshot.h).
// Engine thread only.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "image.h"
#include "pagecodec.h"
#include "tracking.h"

namespace cairn {

struct Precopy {
  std::string image_path;
  int fd = -1;              // the image file, pages written from kPageDataOffset on
  ProcessImage image;       // VMAs, runs (each page's crc32c) and frames: stored here, or references to older images
  Codec codec;              // the checkpoint's: the frozen dump continues this copy
  uint64_t end = 0;         // first byte after the pages stored
  uint64_t logical_end = 0; // compressed: first logical offset after the runs stored (memory.h PageDest)
  uint64_t stored = 0;      // bytes of pages stored (not counting zero pages)
  uint64_t referenced = 0;  // bytes of pages left in older images
  Precopy() = default;
  Precopy(const Precopy &) = delete;
  Precopy &operator=(const Precopy &) = delete;
  ~Precopy();
};

// Copies the running process's tracked memory (private anonymous, see trackable()) into a new
// image file at image_path, raw or compressed as `codec` says: memory not tracked yet is write-protected first, pages written
// since `base` (the last image, as for dump_process) are read again and protected again, the
// others refer to base (uncompressed only). Memory that cannot be tracked is left to the
// frozen dump. The tracker must be armed. Throws naming pid.
std::unique_ptr<Precopy> precopy_process(pid_t pid, Tracker &t, const ProcessImage *base, const std::string &base_file,
                                         const std::string &image_path, const Codec &codec);

}  // namespace cairn
