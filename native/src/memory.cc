// Memory dump: /proc/PID/maps -> Vma list, /proc/PID/pagemap -> page runs, then the pages
// themselves read with process_vm_readv in large batches and written sequentially, with a
// writer thread so reading the next batch overlaps writing the previous one.
#include "memory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>

#include "crc32c.h"
#include "pagecodec.h"
#include "pagemap_scan.h"
#include "progress.h"
#include "process.h"
#include "worker_pool.h"

namespace cairn {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPmPresent = 1ULL << 63, kPmSwapped = 1ULL << 62, kPmFile = 1ULL << 61;
// One process_vm_readv / write batch; compressed, one frame. Smaller frames compress worse
// and slower: zstd -1 makes 16 KiB of each 1 MiB frame of a repeating pattern, 2 KiB of 8 MiB.
constexpr size_t kBatchBytes = 8u << 20;
constexpr size_t kMaxIov = 1024;           // IOV_MAX

std::string hex(uint64_t v) {
  char b[32];
  snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

double ms_since(const timespec &t0) {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0.tv_sec) * 1e3 + (t.tv_nsec - t0.tv_nsec) / 1e6;
}

bool ends_with(const std::string &s, const char *suffix) {
  size_t n = strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

enum class Scan { None, Anon, FilePrivate, All };

struct Work {
  size_t vma;   // index into img.vmas
  Scan scan;
};

using pagemap::kIsFile, pagemap::kIsPfnZero, pagemap::kIsPresent, pagemap::kIsSwapped, pagemap::kScan,
    pagemap::page_region, pagemap::pm_scan_arg;

void add_run(VmaImage &v, uint64_t start, uint64_t len) {
  if (!v.runs.empty() && v.runs.back().addr + v.runs.back().len == start)
    v.runs.back().len += len;
  else
    v.runs.push_back(PageRun{start, len, 0, 0});
}

// 1: done with PAGEMAP_SCAN; 0: the kernel does not have it (use the pagemap entries).
int scan_ioctl(pid_t pid, int pm_fd, VmaImage &v, Scan scan) {
  static bool unsupported = false;
  if (unsupported) return 0;
  static thread_local std::vector<page_region> regs(4096);
  pm_scan_arg a{};
  a.size = sizeof a;
  a.start = v.start;
  a.end = v.end;
  a.vec = reinterpret_cast<uint64_t>(regs.data());
  a.vec_len = regs.size();
  // Present or swapped, and never the shared zero page (it reads as zeros: nothing to save).
  a.category_anyof_mask = kIsPresent | kIsSwapped;
  a.category_inverted = kIsPfnZero;
  a.category_mask = kIsPfnZero;
  if (scan == Scan::FilePrivate) {   // page-cache pages come from the file at restart
    a.category_inverted |= kIsFile;
    a.category_mask |= kIsFile;
  }
  a.return_mask = kIsPresent | kIsSwapped;
  while (a.start < a.end) {
    long n = ioctl(pm_fd, kScan, &a);
    if (n < 0) {
      if ((errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP) && v.runs.empty()) {
        unsupported = true;
        return 0;
      }
      fail_pid(pid, "PAGEMAP_SCAN of " + hex(a.start) + "-" + hex(a.end) + ": " + errno_str(errno));
    }
    for (long i = 0; i < n; i++) add_run(v, regs[size_t(i)].start, regs[size_t(i)].end - regs[size_t(i)].start);
    if (a.walk_end <= a.start) break;
    a.start = a.walk_end;
  }
  return 1;
}

// Pages of [start, end) selected by `scan`, merged into runs appended to v.runs.
void scan_pagemap(pid_t pid, int pm_fd, VmaImage &v, Scan scan) {
  if (scan == Scan::None) return;
  if (scan == Scan::All) {
    v.runs.push_back(PageRun{v.start, v.end - v.start, 0, 0});
    return;
  }
  if (scan_ioctl(pid, pm_fd, v, scan)) return;
  static thread_local std::vector<uint64_t> ent;
  const size_t chunk = 32768;   // entries per read: 256 KiB of pagemap, 128 MiB of address space
  ent.resize(chunk);
  uint64_t run_start = 0, run_len = 0;
  for (uint64_t a = v.start; a < v.end;) {
    size_t n = size_t(std::min<uint64_t>((v.end - a) / kPage, chunk));
    ssize_t r = pread(pm_fd, ent.data(), n * 8, off_t(a / kPage * 8));
    if (r < 0) fail_pid(pid, "cannot read /proc/" + std::to_string(pid) + "/pagemap at " + hex(a) + ": " + errno_str(errno));
    size_t got = size_t(r) / 8;
    if (got == 0) fail_pid(pid, "short read of /proc/" + std::to_string(pid) + "/pagemap at " + hex(a));
    for (size_t i = 0; i < got; i++) {
      uint64_t e = ent[i];
      bool take = (e & (kPmPresent | kPmSwapped)) != 0;
      // A private file mapping: page-cache pages (bit 61) come from the file at restart;
      // only anonymous copies (written pages) are the process's own.
      if (take && scan == Scan::FilePrivate && (e & kPmFile)) take = false;
      uint64_t pa = a + i * kPage;
      if (take) {
        if (run_len && run_start + run_len == pa)
          run_len += kPage;
        else {
          if (run_len) v.runs.push_back(PageRun{run_start, run_len, 0, 0});
          run_start = pa;
          run_len = kPage;
        }
      }
    }
    a += got * kPage;
  }
  if (run_len) v.runs.push_back(PageRun{run_start, run_len, 0, 0});
}

struct Piece {
  uint64_t addr, len;
  PageRun *run;
  bool zero_ok;   // unreadable bytes become zeros (a mapping beyond the end of its file)
};

// The pages of a batch that hold data (all-zero pages are never stored).
std::vector<Extent> data_extents(const uint8_t *buf, size_t len) {
  std::vector<Extent> ext;
  for (uint32_t pg = 0; pg < len / kPage; pg++) {
    if (zero_page(buf + size_t(pg) * kPage)) continue;
    if (!ext.empty() && ext.back().page + ext.back().npages == pg)
      ext.back().npages++;
    else
      ext.push_back(Extent{pg, 1});
  }
  return ext;
}

// Pieces read, checksummed and stored together: up to kBatchBytes in up to kMaxIov pieces.
struct Task {
  size_t first, last;   // pieces [first, last)
  size_t len;
  uint64_t logical;     // where its first byte goes (raw: the file offset)
};

// Where the pages go. Raw: each extent is written at its own offset (zero pages become
// holes), by whichever worker read it. Compressed: each batch becomes one frame, appended in
// batch order whatever order the workers finish in.
class PageStore {
 public:
  // direct_fd >= 0: the same file opened with O_DIRECT, for raw page data (aligned buffers,
  // offsets and lengths): the disk's own speed, no page cache to fill and write back.
  PageStore(int fd, int direct_fd, const Codec &codec, uint64_t phys_start)
      : fd_(fd), direct_fd_(direct_fd), codec_(codec), phys_end_(phys_start) {}

  // Blocks while task `seq` is more than kAhead batches past the oldest frame not yet
  // written (compressed frames wait in memory for it); false once something failed.
  bool may_start(uint64_t seq) {
    std::unique_lock<std::mutex> g(mu_);
    cv_.wait(g, [&] { return !error_.empty() || codec_.kind == CODEC_NONE || seq < next_seq_ + kAhead; });
    return error_.empty();
  }

  // Stores task `seq`'s batch: buf holds its len bytes, ext its pages that are not all zeros.
  void store(uint64_t seq, const uint8_t *buf, size_t len, uint64_t logical, const std::vector<Extent> &ext) {
    std::string e;
    if (codec_.kind == CODEC_NONE) {
      const int wfd = direct_fd_ >= 0 ? direct_fd_ : fd_;
      for (const Extent &x : ext)
        if (!write_all(wfd, buf + size_t(x.page) * kPage, size_t(x.npages) * kPage, logical + uint64_t(x.page) * kPage, e)) break;
      if (e.empty() && direct_fd_ < 0) written(logical, len);
      if (!e.empty()) fail(e);
      return;
    }
    Frame f{logical, {}, 0};
    if (!ext.empty()) {
      try {
        const auto [p, n] = compress_frame(codec_, buf, ext);
        f.data.assign(p, p + n);   // the frame's own size: frames wait in memory for their turn
      } catch (const std::exception &x) {
        fail(std::string("cannot compress page data: ") + x.what());
        return;
      }
      f.raw_length = 4 + 8 * ext.size();
      for (const Extent &x : ext) f.raw_length += uint64_t(x.npages) * kPage;
    }
    std::unique_lock<std::mutex> g(mu_);
    ready_.emplace(seq, std::move(f));
    // The worker holding the next frame in order writes it and every one ready after it.
    while (error_.empty()) {
      auto it = ready_.find(next_seq_);
      if (it == ready_.end()) break;
      Frame fr = std::move(it->second);
      ready_.erase(it);
      if (!fr.data.empty()) {
        const uint64_t at = phys_end_;
        phys_end_ += fr.data.size();
        frames.push_back(PageFrame{fr.logical, at, fr.data.size(), 0});
        frames.back().raw_length = fr.raw_length;
        if (write_all(fd_, fr.data.data(), fr.data.size(), at, e)) {
          g.unlock();
          written(at, fr.data.size());
          g.lock();
        } else {
          error_ = e;
        }
      }
      next_seq_++;
    }
    cv_.notify_all();
  }

  void fail(const std::string &e) {
    std::lock_guard<std::mutex> g(mu_);
    if (error_.empty()) error_ = e;
    cv_.notify_all();
  }
  std::string error() {
    std::lock_guard<std::mutex> g(mu_);
    return error_;
  }
  uint64_t phys_end() const { return phys_end_; }
  std::vector<PageFrame> frames;

 private:
  struct Frame {
    uint64_t logical;
    std::vector<uint8_t> data;
    uint64_t raw_length;
  };
  // The disk works while the next batches are read: writeback of what was just written starts
  // now, and a worker waits for the writeback of what lies more than kWriteback behind, so the
  // final fsync finds little left and the page cache does not fill with this image.
  void written(uint64_t off, uint64_t len) {
    sync_file_range(fd_, off_t(off), off_t(len), SYNC_FILE_RANGE_WRITE);
    std::pair<uint64_t, uint64_t> old{0, 0};
    {
      std::lock_guard<std::mutex> g(wb_mu_);
      wb_.push_back({off, len});
      wb_bytes_ += len;
      if (wb_bytes_ > kWriteback) {
        old = wb_.front();
        wb_.pop_front();
        wb_bytes_ -= old.second;
      }
    }
    if (old.second)
      sync_file_range(fd_, off_t(old.first), off_t(old.second),
                      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
  }

  static bool write_all(int fd, const uint8_t *b, size_t len, uint64_t off, std::string &e) {
    while (len) {
      ssize_t w = pwrite(fd, b, len, off_t(off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        e = "cannot write page data to the image: " + errno_str(w < 0 ? errno : EIO);
        return false;
      }
      b += w;
      len -= size_t(w);
      off += uint64_t(w);
    }
    return true;
  }

  static constexpr uint64_t kAhead = 16;
  static constexpr uint64_t kWriteback = 64u << 20;
  int fd_, direct_fd_;
  Codec codec_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Frame> ready_;   // compressed frames waiting for those before them
  uint64_t next_seq_ = 0, phys_end_;
  std::mutex wb_mu_;
  std::deque<std::pair<uint64_t, uint64_t>> wb_;   // ranges written, writeback not waited for
  uint64_t wb_bytes_ = 0;
  std::string error_;
};

}  // namespace

bool zero_page(const uint8_t *p) {
  const uint64_t *q = reinterpret_cast<const uint64_t *>(p);
  for (size_t i = 0; i < kPage / 8; i += 8)   // 64 bytes at a time: random data stops at once
    if (q[i] | q[i + 1] | q[i + 2] | q[i + 3] | q[i + 4] | q[i + 5] | q[i + 6] | q[i + 7]) return false;
  return true;
}

namespace {

// /proc/PID/smaps or /proc/PID/maps (the same lines without the per-VMA fields).
std::vector<MapEntry> parse_maps(pid_t pid, const char *file) {
  std::string s;
  const std::string path = "/proc/" + std::to_string(pid) + "/" + file;
  if (!read_text(path, s)) fail_pid(pid, "cannot read " + path + ": " + errno_str(errno));
  std::vector<MapEntry> out;
  for (size_t p = 0; p < s.size();) {
    size_t e = s.find('\n', p);
    if (e == std::string::npos) e = s.size();
    std::string line = s.substr(p, e - p);
    p = e + 1;
    if (line.rfind("VmFlags:", 0) == 0) {
      if (out.empty()) continue;
      // Two-letter mnemonics (fs/proc/task_mmu.c); only those a restart can give back.
      static const struct { char name[3]; uint32_t bit; } known[] = {
          {"gd", kVmaGrowsdown}, {"dc", kVmaDontfork}, {"dd", kVmaDontdump}, {"wf", kVmaWipeonfork},
          {"hg", kVmaHugepage}, {"nh", kVmaNohugepage}, {"nr", kVmaNoreserve}};
      for (size_t q = 8; q + 2 <= line.size(); q++) {
        if (line[q] == ' ') continue;
        if (line.compare(q, 2, "uw") == 0 && (q + 2 == line.size() || line[q + 2] == ' ')) out.back().uffd_wp = true;
        for (auto &k : known)
          if (line.compare(q, 2, k.name) == 0 && (q + 2 == line.size() || line[q + 2] == ' ')) out.back().flags |= k.bit;
        while (q < line.size() && line[q] != ' ') q++;
      }
      continue;
    }
    MapEntry m;
    unsigned long long st, en, off, ino;
    unsigned maj, min;
    char perms[8];
    int consumed = 0;
    if (sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu%n", &st, &en, perms, &off, &maj, &min, &ino, &consumed) < 7)
      continue;
    m.start = st;
    m.end = en;
    m.offset = off;
    m.inode = ino;
    m.dev_major = maj;
    m.dev_minor = min;
    memcpy(m.perms, perms, 4);
    m.perms[4] = 0;
    size_t q = size_t(consumed);
    while (q < line.size() && line[q] == ' ') q++;
    m.path = line.substr(q);
    out.push_back(std::move(m));
  }
  if (out.empty()) fail_pid(pid, "no memory mappings (a zombie or a kernel thread?)");
  return out;
}

}  // namespace

std::vector<MapEntry> read_maps(pid_t pid) { return parse_maps(pid, "smaps"); }

std::vector<MapEntry> read_maps_only(pid_t pid) { return parse_maps(pid, "maps"); }

void take_vmflags(pid_t pid, std::vector<MapEntry> &maps, const std::vector<MapEntry> &with_flags) {
  bool same = maps.size() == with_flags.size();
  for (size_t i = 0; same && i < maps.size(); i++) {
    same = maps[i].start == with_flags[i].start && maps[i].end == with_flags[i].end;
    maps[i].flags = with_flags[i].flags;
    maps[i].uffd_wp = with_flags[i].uffd_wp;
  }
  if (!same) fail_pid(pid, "its memory mappings changed while it was frozen (/proc/" + std::to_string(pid) + "/maps and smaps differ)");
}

SpecialMappings special_mappings(const std::vector<MapEntry> &maps) {
  SpecialMappings sp;
  for (auto &m : maps) {
    if (m.path == "[vvar]") sp.vvar_start = m.start, sp.vvar_end = m.end;
    if (m.path == "[vvar_vclock]") sp.vvar_vclock_start = m.start, sp.vvar_vclock_end = m.end;
    if (m.path == "[vdso]") sp.vdso_start = m.start, sp.vdso_end = m.end;
  }
  return sp;
}

std::vector<bool> plan_memory(pid_t pid, const std::vector<MapEntry> &maps, ProcessImage &img) {
  const std::string root = "/proc/" + std::to_string(pid) + "/root";
  std::vector<Work> work;
  img.vmas.clear();
  for (auto &m : maps) {
    const std::string &path = m.path;
    if (path == "[vsyscall]" || path == "[vvar]" || path == "[vvar_vclock]" || path == "[vdso]") continue;
    VmaImage v;
    v.start = m.start;
    v.end = m.end;
    v.prot = (m.perms[0] == 'r' ? 1u : 0u) | (m.perms[1] == 'w' ? 2u : 0u) | (m.perms[2] == 'x' ? 4u : 0u);
    v.flags = m.flags;
    const bool shared = m.perms[3] == 's';
    const std::string at = " at " + hex(m.start) + "-" + hex(m.end);
    Scan scan = Scan::Anon;
    bool is_file = !path.empty() && path[0] == '/';
    struct stat st;
    bool stat_ok = false, same_file = false;
    if (is_file && !ends_with(path, " (deleted)")) {
      stat_ok = stat((root + path).c_str(), &st) == 0;
      same_file = stat_ok && uint64_t(st.st_ino) == m.inode && major(st.st_dev) == m.dev_major &&
                  minor(st.st_dev) == m.dev_minor;
    }
    const bool device = stat_ok && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode));
    const bool dev_zero = device && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 5;
    // memfds, shared anonymous memory and deleted files: saved once as a SharedFile
    // (fd_kinds.cc), which every mapping and descriptor of the same inode refers to.
    const bool shmem_like = path.rfind("/memfd:", 0) == 0 || path.rfind("/dev/zero (deleted)", 0) == 0 ||
                            path.rfind("[anon_shmem", 0) == 0 ||
                            (is_file && ends_with(path, " (deleted)") && path.rfind("/SYSV", 0) != 0);
    if (shared && path.rfind("/SYSV", 0) == 0 && ends_with(path, " (deleted)") && m.inode <= 0x7fffffff) {
      // shmat of a SysV segment: maps shows it as the file "/SYSV<key> (deleted)" whose inode
      // number is the shmid. Its contents are saved once for the job (cairn-ipc), not here.
      v.kind = VMA_SYSV_SHM;
      v.path = path;
      v.pgoff = m.offset;
      v.sysv_shmid = int32_t(m.inode);
      scan = Scan::None;
    } else if (shared && shmem_like) {
      v.kind = VMA_SHARED_FILE;
      v.path = path;
      v.pgoff = m.offset;
      v.file.dev = uint64_t(makedev(m.dev_major, m.dev_minor));
      v.file.ino = m.inode;
      scan = Scan::None;   // its content is saved with the SharedFile
    } else if (shared) {
      if (device && !dev_zero) fail_pid(pid, "device mapping " + path + at + " is not supported yet");
      if (!is_file || dev_zero || path.rfind("/dev/zero", 0) == 0 || path.rfind("/SYSV", 0) == 0 ||
          path.rfind("/memfd:", 0) == 0 || path.rfind("[anon_shmem", 0) == 0)
        fail_pid(pid, "shared anonymous mapping" + at + (path.empty() ? "" : " (" + path + ")") +
                          " is not supported yet");
      if (!same_file)
        fail_pid(pid, "shared mapping of a deleted or replaced file " + path + at + " is not supported yet");
      v.kind = VMA_FILE_SHARED;
      scan = Scan::None;   // its content lives in the file
    } else if (!is_file) {
      v.kind = path == "[stack]" ? VMA_STACK : VMA_ANON;
      v.name = path;
    } else if (dev_zero) {
      v.kind = VMA_ANON;   // a private /dev/zero mapping is anonymous memory
      v.name = path;
    } else if (device) {
      fail_pid(pid, "device mapping " + path + at + " is not supported yet");
    } else if (!same_file) {
      // The file is gone or replaced: keep every page of the mapping, as anonymous memory.
      v.kind = VMA_ANON;
      v.name = path;
      scan = Scan::All;
    } else {
      v.kind = VMA_FILE_PRIVATE;
      scan = Scan::FilePrivate;
    }
    if (v.kind == VMA_FILE_PRIVATE || v.kind == VMA_FILE_SHARED) {
      v.path = path;
      v.pgoff = m.offset;
      v.file.dev = uint64_t(st.st_dev);
      v.file.ino = uint64_t(st.st_ino);
      v.file.size = uint64_t(st.st_size);
      v.file.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    }
    img.vmas.push_back(std::move(v));
    work.push_back(Work{img.vmas.size() - 1, scan});
  }

  // Page selection.
  const std::string pm_path = "/proc/" + std::to_string(pid) + "/pagemap";
  int pm = open(pm_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (pm < 0) fail_pid(pid, "cannot open " + pm_path + ": " + errno_str(errno));
  try {
    for (auto &w : work) scan_pagemap(pid, pm, img.vmas[w.vma], w.scan);
  } catch (...) {
    close(pm);
    throw;
  }
  close(pm);
  std::vector<bool> zero_ok(img.vmas.size(), false);
  for (auto &w : work) zero_ok[w.vma] = w.scan == Scan::All;
  // Offsets as if the pages came first, so the image can be checked before they are copied
  // (copy_memory sets the real ones).
  uint64_t off = kPageDataOffset;
  for (VmaImage &v : img.vmas)
    for (PageRun &r : v.runs) r.offset = off, off += r.len;
  return zero_ok;
}

bool snapshot_holds_memory(const ProcessImage &img) {
  for (const VmaImage &v : img.vmas)
    if ((v.flags & (kVmaDontfork | kVmaWipeonfork)) && !v.runs.empty()) return false;
  return true;
}

uint64_t reference_base(ProcessImage &img, const ProcessImage &base, const std::string &base_file, const WrittenOf &written,
                        ProcessImage *spent) {
  if (spent && spent != &base) throw std::logic_error("reference_base: spent is not base");
  // Every run of base that has its pages' checksums, in address order.
  std::vector<const PageRun *> old;
  for (const VmaImage &v : base.vmas)
    for (const PageRun &r : v.runs)
      if (r.page_crcs.size() == r.len / kPage) old.push_back(&r);
  std::sort(old.begin(), old.end(), [](const PageRun *a, const PageRun *b) { return a->addr < b->addr; });
  uint64_t referenced = 0;
  std::vector<std::pair<uint64_t, uint64_t>> w;
  for (VmaImage &v : img.vmas) {
    if (v.runs.empty()) continue;
    w.clear();
    if (!written(v, w)) continue;
    std::vector<PageRun> out;
    size_t wi = 0, oi = size_t(std::lower_bound(old.begin(), old.end(), v.start, [](const PageRun *r, uint64_t a) {
                                   return r->addr + r->len <= a;
                                 }) - old.begin());
    for (const PageRun &r : v.runs) {
      for (uint64_t a = r.addr; a < r.addr + r.len;) {
        while (wi < w.size() && w[wi].second <= a) wi++;
        while (oi < old.size() && old[oi]->addr + old[oi]->len <= a) oi++;
        const bool dirty = wi < w.size() && w[wi].first <= a;
        const PageRun *o = !dirty && oi < old.size() && old[oi]->addr <= a ? old[oi] : nullptr;
        // The longest stretch from a of the same kind: stored, or in that one old run.
        uint64_t e = r.addr + r.len;
        if (dirty) e = std::min(e, w[wi].second);
        else if (wi < w.size()) e = std::min(e, w[wi].first);
        if (o) e = std::min(e, o->addr + o->len);
        else if (!dirty && oi < old.size()) e = std::min(e, std::max(a + kPage, old[oi]->addr));
        if (!o) {
          if (!out.empty() && out.back().file.empty() && !out.back().in_place && out.back().addr + out.back().len == a)
            out.back().len += e - a;
          else
            out.push_back(PageRun{a, e - a, 0, 0});
        } else {
          PageRun x{a, e - a, 0, 0};
          const uint64_t first = (a - o->addr) / kPage, n = (e - a) / kPage;
          if (o->file.empty() && base_file.empty()) {
            x.in_place = true;   // the base is this very image's copy made before the freeze
            x.offset = o->offset + (a - o->addr);
          } else {
            x.file = o->file.empty() ? base_file : o->file;
            x.file_offset = (o->file.empty() ? o->offset : o->file_offset) + (a - o->addr);
          }
          if (n == o->page_crcs.size()) {
            // The whole old run: its checksum as is (a million combines less at 4 GiB).
            if (spent) x.page_crcs = std::move(const_cast<PageRun *>(o)->page_crcs);   // o is in *spent
            else x.page_crcs = o->page_crcs;
            x.crc32c = o->crc32c;
          } else {
            x.page_crcs.assign(o->page_crcs.begin() + long(first), o->page_crcs.begin() + long(first + n));
            for (uint32_t c : x.page_crcs) x.crc32c = crc32c_combine(x.crc32c, c, kPage);
          }
          if (!x.in_place) referenced += x.len;
          out.push_back(std::move(x));
        }
        a = e;
      }
    }
    v.runs = std::move(out);
  }
  uint64_t off = kPageDataOffset;   // provisional, as plan_memory's
  for (VmaImage &v : img.vmas)
    for (PageRun &r : v.runs)
      if (r.file.empty() && !r.in_place) r.offset = off, off += r.len;
  return referenced;
}

uint64_t copy_memory(pid_t pid, pid_t read_pid, const PageDest &to, const std::vector<bool> &zero_ok, ProcessImage &img,
                     MemoryStats *stats) {
  timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  const Codec &codec = to.codec;
  const int image_fd = to.fd;
  const uint64_t data_start = to.data_start;
  const bool page_crcs = codec.kind == CODEC_NONE || to.page_crcs;
  // Offsets: runs in address order, packed from logical_start (raw: data_start).
  std::vector<Piece> pieces;
  uint64_t off = codec.kind == CODEC_NONE ? data_start : to.logical_start, nruns = 0;
  const uint64_t first_off = off;
  for (size_t i = 0; i < img.vmas.size(); i++) {
    VmaImage &v = img.vmas[i];
    for (auto &r : v.runs) {
      if (!r.file.empty() || r.in_place) continue;   // in an older image, or stored before the freeze
      r.offset = off;
      r.crc32c = 0;
      r.page_crcs.clear();
      off += r.len;
      nruns++;
      for (uint64_t a = r.addr; a < r.addr + r.len; a += kBatchBytes)
        pieces.push_back(Piece{a, std::min<uint64_t>(kBatchBytes, r.addr + r.len - a), &r, i < zero_ok.size() && zero_ok[i]});
    }
  }
  uint64_t end = off;
  progress_add_total(end - first_off);
  double scan_ms = ms_since(t0);

  // Copy: batches of up to kBatchBytes in up to kMaxIov pieces. Each worker reads a batch,
  // checksums it, finds its zero pages and stores it (compresses it, or writes it raw), then
  // takes the next: reading is spread over the CPUs as much as compressing is.
  std::atomic<uint64_t> read_ns{0}, stored{0};
  uint64_t phys_end = end;
  if (!pieces.empty()) {
    std::vector<Task> tasks;
    for (size_t i = 0, woff = first_off; i < pieces.size();) {
      Task t{i, i, 0, woff};
      while (i < pieces.size() && i - t.first < kMaxIov && t.len + pieces[i].len <= kBatchBytes) t.len += size_t(pieces[i++].len);
      t.last = i;
      woff += t.len;
      tasks.push_back(t);
    }
    // Checksums per piece, joined per run in address order once every batch is in.
    std::vector<uint32_t> piece_crc(pieces.size(), 0);
    std::vector<std::vector<uint32_t>> piece_page_crcs(page_crcs ? pieces.size() : 0);
    const std::string mem_path = "/proc/" + std::to_string(read_pid) + "/mem";
    // A snapshot shares its pages with the running process: process_vm_readv pins them
    // (FOLL_PIN), and pinning a shared anonymous page makes the kernel copy it first.
    // /proc/PID/mem only references them: no copy, ~10x faster here. It also reads what the
    // fast path cannot (PROT_NONE pages), with FOLL_FORCE.
    const int mem = open(mem_path.c_str(), O_RDONLY | O_CLOEXEC);
    struct CloseFds {
      int a, b;
      ~CloseFds() {
        if (a >= 0) close(a);
        if (b >= 0) close(b);
      }
    };
    // Raw pages bypass the page cache when the file system allows it (tmpfs does not).
    const int direct = codec.kind == CODEC_NONE && !getenv("CAIRN_NO_DIRECT_IO")
                           ? open(("/proc/self/fd/" + std::to_string(image_fd)).c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC)
                           : -1;
    CloseFds close_fds{mem, direct};
    PageStore store(image_fd, direct, codec, data_start);
    std::atomic<size_t> next{0};
    auto read_batch = [&](const Task &t, uint8_t *buf) -> std::string {
      ssize_t got = 0;
      if (read_pid == pid) {
        std::vector<iovec> riov;
        riov.reserve(t.last - t.first);
        for (size_t k = t.first; k < t.last; k++) riov.push_back(iovec{reinterpret_cast<void *>(pieces[k].addr), size_t(pieces[k].len)});
        iovec liov = {buf, t.len};
        got = process_vm_readv(read_pid, &liov, 1, riov.data(), riov.size(), 0);
        if (got < 0) got = 0;
      } else {
        for (size_t k = t.first; k < t.last && mem >= 0; k++) {
          ssize_t r = pread(mem, buf + got, size_t(pieces[k].len), off_t(pieces[k].addr));
          got += r > 0 ? r : 0;
          if (r != ssize_t(pieces[k].len)) break;
        }
      }
      if (size_t(got) >= t.len) return "";
      // Something the fast path could not read (PROT_NONE pages, a hole beyond EOF): page by page.
      size_t pos = 0;
      for (size_t k = t.first; k < t.last; k++) {
        const Piece &pc = pieces[k];
        for (uint64_t a = 0; a < pc.len; a += kPage) {
          size_t at = pos + size_t(a);
          if (at + kPage <= size_t(got)) continue;
          ssize_t r = mem >= 0 ? pread(mem, buf + at, kPage, off_t(pc.addr + a)) : -1;
          if (r == ssize_t(kPage)) continue;
          if (!pc.zero_ok) return "cannot read memory at " + hex(pc.addr + a) + ": " + errno_str(r < 0 ? errno : EIO);
          memset(buf + at, 0, kPage);
        }
        pos += size_t(pc.len);
      }
      return "";
    };
    auto worker = [&] {
      // Kept by the worker's thread from one dump to the next (worker_pool.h). Not
      // MADV_HUGEPAGE, though a compressed copy was ~10% faster with it: where
      // defrag=madvise (the usual setting) a huge page fault compacts memory synchronously,
      // and with a 4 GiB job and its image in the page cache one took 1.4 s while frozen.
      uint8_t *buf = worker_buffer(kBatchBytes);
      if (!buf) return store.fail("cannot allocate a dump buffer: " + errno_str(errno));
      for (size_t k; (k = next++) < tasks.size() && store.may_start(k);) {
        const Task &t = tasks[k];
        timespec tr;
        clock_gettime(CLOCK_MONOTONIC, &tr);
        if (std::string e = read_batch(t, buf); !e.empty()) {
          store.fail(e);
          break;
        }
        size_t pos = 0;
        for (size_t i = t.first; i < t.last; i++) {
          if (page_crcs) {
            // Page by page: a later image may refer to any part of this run.
            for (uint64_t q = 0; q < pieces[i].len; q += kPage) piece_page_crcs[i].push_back(crc32c_page(buf + pos + q));
          } else {
            piece_crc[i] = crc32c(0, buf + pos, size_t(pieces[i].len));
          }
          pos += size_t(pieces[i].len);
        }
        std::vector<Extent> ext = data_extents(buf, t.len);
        uint64_t st = 0;
        for (const Extent &x : ext) st += uint64_t(x.npages) * kPage;
        stored += st;
        read_ns += uint64_t(ms_since(tr) * 1e6);
        progress_add(t.len);
        store.store(k, buf, t.len, t.logical, ext);
      }
    };
    // Raw batches wait on the disk as well as on the CPU: one worker more keeps both busy.
    const unsigned nworkers = std::min<size_t>(tasks.size(), codec_threads() + (codec.kind == CODEC_NONE ? 1 : 0));
    run_on_workers(nworkers, worker);
    if (std::string e = store.error(); !e.empty()) fail_pid(pid, e);
    for (size_t i = 0; i < pieces.size(); i++) {
      PageRun &run = *pieces[i].run;
      if (page_crcs) {
        for (uint32_t c : piece_page_crcs[i]) {
          run.page_crcs.push_back(c);
          run.crc32c = crc32c_combine(run.crc32c, c, kPage);
        }
      } else {
        run.crc32c = crc32c_combine(run.crc32c, piece_crc[i], pieces[i].len);
      }
    }
    if (codec.kind != CODEC_NONE) {
      img.page_frames.insert(img.page_frames.end(), store.frames.begin(), store.frames.end());
      phys_end = store.phys_end();
    }
  }
  img.pages_codec = codec.kind;
  if (codec.kind != CODEC_NONE) end = std::max<uint64_t>(phys_end, data_start);
  if (stats) {
    stats->vmas = img.vmas.size();
    stats->runs = nruns;
    stats->bytes = off - first_off;
    stats->logical_end = off;
    stats->stored = stored;
    stats->read_ms = double(read_ns) / 1e6 + scan_ms;   // summed over the workers
  }
  return end;
}

}  // namespace cairn
