// Memory copied before the freeze (precopy.h).
#include "precopy.h"

#include <fcntl.h>
#include <unistd.h>


#include "memory.h"
#include "process.h"

namespace cairn {

Precopy::~Precopy() {
  if (fd >= 0) close(fd);
}

std::unique_ptr<Precopy> precopy_process(pid_t pid, Tracker &t, const ProcessImage *base, const std::string &base_file,
                                         const std::string &image_path, const Codec &codec) {
  if (base && codec.kind != CODEC_NONE) fail_pid(pid, "a compressed image cannot refer to an older one");
  auto p = std::make_unique<Precopy>();
  p->image_path = image_path;
  p->codec = codec;
  ProcessImage &img = p->image;
  // The process runs: what smaps and the pagemap say may change under us. A page written
  // after its protection is read again while frozen; one absent then is simply not saved.
  const std::vector<MapEntry> maps = read_maps(pid);
  plan_memory(pid, maps, img);
  const MapsByStart by_start(maps);
  auto tracked = [&](const VmaImage &v) {
    const MapEntry *m = by_start.same(v.start, v.end);
    return m && m->uffd_wp && t.covers(v.start, v.end);
  };

  const std::string pm_path = "/proc/" + std::to_string(pid) + "/pagemap";
  const int pm = open(pm_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (pm < 0) fail_pid(pid, "cannot open " + pm_path + ": " + errno_str(errno));
  struct ClosePm {
    int fd;
    ~ClosePm() { close(fd); }
  } close_pm{pm};
  // Tracked memory: the pages written since the last image are protected again now (and
  // copied below); with a base, the others refer to it.
  auto written = [&](const VmaImage &v, std::vector<std::pair<uint64_t, uint64_t>> &w) {
    return tracked(v) && written_since(pm, v.start, v.end, w);
  };
  if (base) {
    p->referenced = reference_base(img, *base, base_file, written);
  } else {
    std::vector<std::pair<uint64_t, uint64_t>> w;
    for (const VmaImage &v : img.vmas) w.clear(), written(v, w);
  }
  // Memory not tracked yet is protected before its pages are read: a write from now on is seen.
  protect_untracked(t, maps, img);
  for (VmaImage &v : img.vmas) {
    const MapEntry *m = by_start.same(v.start, v.end);
    const bool now = m && trackable(*m) && t.covers(v.start, v.end);
    if (!now) v.runs.clear();   // the frozen dump stores it whole
  }

  p->fd = open(image_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (p->fd < 0) fail_pid(pid, "cannot create image " + image_path + ": " + errno_str(errno));
  // Pages that vanish while they are read (an munmap) read as zeros: the process no longer
  // has them where this copy saw them, so no image will refer to them.
  const std::vector<bool> zero_ok(img.vmas.size(), true);
  MemoryStats ms;
  try {
    // Each page's crc32c: the frozen dump keeps the pages not written since, which are parts
    // of these runs.
    p->end = copy_memory(pid, pid, PageDest{p->fd, kPageDataOffset, kPageDataOffset, codec, true}, zero_ok, img, &ms);
  } catch (...) {
    unlink(image_path.c_str());   // no image of it in the generation unless it is dumped
    throw;
  }
  p->stored = ms.stored;
  p->logical_end = ms.logical_end;
  return p;
}

}  // namespace cairn
