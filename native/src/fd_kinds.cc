// Dump of the descriptor kinds that are kernel objects rather than paths (see fd_kinds.h).
// Their state comes from /proc/PID/fdinfo; the contents of memfds and deleted files from
// /proc/PID/fd/N (opening it gives the agent its own handle on the same inode), or from the
// process's memory when only a mapping is left.
#include "fd_kinds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "crc32c.h"
#include "process.h"

namespace cairn {

namespace {

constexpr uint64_t kPage = 4096;

std::vector<std::string> lines_of(const std::string &s) {
  std::vector<std::string> out;
  for (size_t p = 0; p < s.size();) {
    size_t e = s.find('\n', p);
    if (e == std::string::npos) e = s.size();
    out.push_back(s.substr(p, e - p));
    p = e + 1;
  }
  return out;
}

// Value after "key" on the line that starts with it ("" when absent).
std::string value_of(const std::string &info, const char *key) {
  for (const std::string &l : lines_of(info))
    if (l.rfind(key, 0) == 0) {
      size_t p = strlen(key);
      while (p < l.size() && (l[p] == ' ' || l[p] == '\t')) p++;
      return l.substr(p);
    }
  return std::string();
}

// "(sec, nsec)" -> nanoseconds.
int64_t timespec_ns(const std::string &v) {
  long long s = 0, ns = 0;
  if (sscanf(v.c_str(), "(%lld, %lld)", &s, &ns) != 2) return -1;
  return int64_t(s) * 1000000000 + ns;
}

// The kernel prints s_dev in its own encoding: major << 20 | minor.
uint64_t kdev_to_dev(unsigned long long k) { return uint64_t(makedev(unsigned(k >> 20), unsigned(k & 0xfffff))); }

bool starts(const std::string &s, const char *p) { return s.rfind(p, 0) == 0; }

std::string strip_deleted(const std::string &s) {
  const char *suf = " (deleted)";
  size_t n = strlen(suf);
  return s.size() >= n && s.compare(s.size() - n, n, suf) == 0 ? s.substr(0, s.size() - n) : s;
}

}  // namespace

bool dump_fd_kind(pid_t pid, FdImage &f, const std::string &target, const std::string &info,
                  const struct stat &st) {
  const std::string what = "fd " + std::to_string(f.fd) + " is " + target;
  if (target == "anon_inode:[eventfd]") {
    f.kind = FD_EVENTFD;
    f.eventfd_count = strtoull(value_of(info, "eventfd-count:").c_str(), nullptr, 16);   // printed in hex
    f.eventfd_semaphore = atoi(value_of(info, "eventfd-semaphore:").c_str()) != 0;
    return true;
  }
  if (target == "anon_inode:[timerfd]") {
    f.kind = FD_TIMERFD;
    f.timerfd_clockid = atoi(value_of(info, "clockid:").c_str());
    f.timerfd_ticks = strtoull(value_of(info, "ticks:").c_str(), nullptr, 10);
    f.timerfd_settime_flags = uint32_t(strtoul(value_of(info, "settime flags:").c_str(), nullptr, 8));
    f.timerfd_value_ns = timespec_ns(value_of(info, "it_value:"));
    f.timerfd_interval_ns = timespec_ns(value_of(info, "it_interval:"));
    if (f.timerfd_value_ns < 0 || f.timerfd_interval_ns < 0) fail_pid(pid, what + ": cannot parse its fdinfo");
    return true;
  }
  if (target == "anon_inode:[signalfd]") {
    f.kind = FD_SIGNALFD;
    f.signalfd_mask = strtoull(value_of(info, "sigmask:").c_str(), nullptr, 16);
    return true;
  }
  if (target == "anon_inode:[eventpoll]") {
    f.kind = FD_EPOLL;
    for (const std::string &l : lines_of(info)) {
      if (!starts(l, "tfd:")) continue;
      int tfd;
      unsigned events;
      unsigned long long data, ino, sdev;
      if (sscanf(l.c_str(), "tfd: %d events: %x data: %llx pos:%*u ino:%llx sdev:%llx", &tfd, &events, &data, &ino,
                 &sdev) != 5)
        fail_pid(pid, what + ": cannot parse its registration \"" + l + "\"");
      // Checked against the descriptor table in finish_fds: ino/dev travel in the watch fields.
      f.epoll_targets.push_back(EpollTarget{tfd, events, uint64_t(data)});
      f.inotify_watches.push_back(InotifyWatch{tfd, 0, std::string(), uint64_t(ino), kdev_to_dev(sdev)});
    }
    return true;
  }
  if (target == "anon_inode:inotify") {
    f.kind = FD_INOTIFY;
    for (const std::string &l : lines_of(info)) {
      if (!starts(l, "inotify wd:")) continue;
      int wd;
      unsigned long long ino, sdev;
      unsigned mask, ignored;
      if (sscanf(l.c_str(), "inotify wd:%d ino:%llx sdev:%llx mask:%x ignored_mask:%x", &wd, &ino, &sdev, &mask,
                 &ignored) != 5)
        fail_pid(pid, what + ": cannot parse its watch \"" + l + "\"");
      f.inotify_watches.push_back(InotifyWatch{wd, mask, std::string(), uint64_t(ino), kdev_to_dev(sdev)});
    }
    std::sort(f.inotify_watches.begin(), f.inotify_watches.end(),
              [](const InotifyWatch &a, const InotifyWatch &b) { return a.wd < b.wd; });
    return true;
  }
  if (S_ISFIFO(st.st_mode) && (starts(target, "pipe:") || (starts(target, "/") && st.st_nlink > 0))) {
    // The Pipe itself (capacity, bytes in flight) is made by dump_pipes, from file.dev/ino.
    f.kind = FD_PIPE;
    f.file.dev = uint64_t(st.st_dev);
    f.file.ino = uint64_t(st.st_ino);
    return true;
  }
  if (S_ISREG(st.st_mode) && (st.st_nlink == 0 || starts(target, "/memfd:"))) {
    // The SharedFile itself is made by dump_shared_files, from file.dev/ino.
    f.kind = FD_SHARED_FILE;
    f.path = target;
    f.size = uint64_t(st.st_size);
    f.file.dev = uint64_t(st.st_dev);
    f.file.ino = uint64_t(st.st_ino);
    f.file.size = uint64_t(st.st_size);
    return true;
  }
  return false;
}

void dump_fd_locks(pid_t pid, FdImage &f, const std::string &info) {
  for (const std::string &l : lines_of(info)) {
    if (!starts(l, "lock:")) continue;
    // lock:	1: POSIX  ADVISORY  WRITE 14192 fe:00:1097740 10 14   (end inclusive, or EOF)
    char kind[16], adv[16], rw[16], end[32];
    unsigned long long start;
    long lpid;
    unsigned maj, min;
    unsigned long long ino;
    if (sscanf(l.c_str() + 5, " %*d: %15s %15s %15s %ld %x:%x:%llu %llu %31s", kind, adv, rw, &lpid, &maj, &min, &ino,
               &start, end) != 9)
      fail_pid(pid, "fd " + std::to_string(f.fd) + ": cannot parse lock \"" + l + "\"");
    FileLock k;
    if (!strcmp(kind, "FLOCK")) k.kind = LOCK_FLOCK;
    else if (!strcmp(kind, "POSIX")) k.kind = LOCK_POSIX;
    else if (!strcmp(kind, "OFDLCK")) k.kind = LOCK_OFD;
    else fail_pid(pid, "fd " + std::to_string(f.fd) + " (" + f.path + "): " + kind + " locks are not supported");
    if (strcmp(adv, "ADVISORY")) fail_pid(pid, "fd " + std::to_string(f.fd) + " (" + f.path + "): mandatory locks are not supported");
    k.write = !strcmp(rw, "WRITE");
    k.start = start;
    k.len = !strcmp(end, "EOF") ? 0 : strtoull(end, nullptr, 10) - start + 1;
    f.locks.push_back(k);
  }
}

void finish_fds(pid_t pid, ProcessImage &img, const std::vector<MapEntry> &maps) {
  const std::string root = "/proc/" + std::to_string(pid) + "/root";
  std::map<int32_t, const FdImage *> by_num;
  for (const FdImage &f : img.fds) by_num[f.fd] = &f;
  // Candidate paths for inotify watches: the kernel keeps only the inode, so the path is
  // looked for among the paths the process itself names (cwd, exe, argv, descriptors,
  // mappings), their parent directories and the entries of those directories.
  std::set<std::string> cand;
  bool have_inotify = false;
  for (const FdImage &f : img.fds) have_inotify |= f.kind == FD_INOTIFY;
  if (have_inotify) {
    std::vector<std::string> seeds = {img.cwd, img.exe, "/"};
    for (const std::string &a : img.argv) seeds.push_back(a.empty() || a[0] == '/' ? a : img.cwd + "/" + a);
    for (const FdImage &f : img.fds) seeds.push_back(f.path);
    for (const MapEntry &m : maps) seeds.push_back(m.path);
    std::set<std::string> dirs;
    for (std::string s : seeds) {
      if (s.empty() || s[0] != '/') continue;
      s = strip_deleted(s);
      cand.insert(s);
      for (size_t p; (p = s.rfind('/')) != std::string::npos && !s.empty();) {
        s = p == 0 ? "/" : s.substr(0, p);
        cand.insert(s);
        dirs.insert(s);
        if (s == "/") break;
      }
    }
    dirs.insert(img.cwd);
    for (const std::string &d : dirs) {
      if (d == "/") continue;
      if (DIR *dp = opendir((root + d).c_str())) {
        int n = 0;
        while (dirent *e = readdir(dp)) {
          if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
          if (++n > 4096) break;   // a huge directory: its entries are unlikely to be watched
          cand.insert(d + "/" + e->d_name);
        }
        closedir(dp);
      }
    }
  }
  std::map<std::pair<uint64_t, uint64_t>, std::string> by_inode;
  for (const std::string &c : cand) {
    struct stat st;
    if (lstat((root + c).c_str(), &st) == 0) by_inode.emplace(std::make_pair(uint64_t(st.st_dev), uint64_t(st.st_ino)), c);
  }

  for (FdImage &f : img.fds) {
    const std::string what = "fd " + std::to_string(f.fd) + " (" + f.path + ")";
    if (f.kind == FD_EPOLL) {
      for (size_t i = 0; i < f.epoll_targets.size(); i++) {
        const EpollTarget &t = f.epoll_targets[i];
        const InotifyWatch &id = f.inotify_watches[i];
        auto it = by_num.find(t.tfd);
        struct stat st;
        const std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(t.tfd);
        if (it == by_num.end() || stat(link.c_str(), &st) < 0 || uint64_t(st.st_ino) != id.ino ||
            uint64_t(st.st_dev) != id.dev)
          fail_pid(pid, what + ": its registration of fd " + std::to_string(t.tfd) +
                            " is for a file no longer open under that number (not supported)");
      }
      f.inotify_watches.clear();
    } else if (f.kind == FD_INOTIFY) {
      for (InotifyWatch &w : f.inotify_watches) {
        auto it = by_inode.find(std::make_pair(w.dev, w.ino));
        if (it == by_inode.end())
          fail_pid(pid, what + ": inotify watch " + std::to_string(w.wd) + " is on inode " + std::to_string(w.ino) +
                            ", which has no path among the process's cwd, files and their directories (not supported)");
        w.path = it->second;
      }
    }
  }
}

uint64_t dump_shared_files(pid_t pid, int image_fd, uint64_t off, ProcessImage &img) {
  const std::string base = "/proc/" + std::to_string(pid);
  std::map<std::pair<uint64_t, uint64_t>, uint32_t> index;   // (dev, ino) -> index + 1
  auto get = [&](uint64_t dev, uint64_t ino, const std::string &path, bool anon) -> SharedFile & {
    auto key = std::make_pair(dev, ino);
    auto it = index.find(key);
    if (it != index.end()) return img.shared_files[it->second - 1];
    SharedFile s;
    s.file.dev = dev;
    s.file.ino = ino;
    std::string p = strip_deleted(path);
    if (anon) s.kind = SHARED_ANON;
    else if (starts(p, "/memfd:")) s.kind = SHARED_MEMFD, s.name = p.substr(7);
    else s.kind = SHARED_DELETED, s.name = p;
    img.shared_files.push_back(s);
    index[key] = uint32_t(img.shared_files.size());
    return img.shared_files.back();
  };
  std::map<uint32_t, int> fd_of;   // shared file index + 1 -> a descriptor number of it
  for (FdImage &f : img.fds) {
    if (f.kind != FD_SHARED_FILE) continue;
    get(f.file.dev, f.file.ino, f.path, false);
    f.shared_file = index[std::make_pair(f.file.dev, f.file.ino)];
    fd_of.emplace(f.shared_file, f.fd);
  }
  for (VmaImage &v : img.vmas) {
    if (v.kind != VMA_SHARED_FILE) continue;
    const bool anon = !starts(v.path, "/memfd:") && (starts(v.path, "/dev/zero") || starts(v.path, "[anon_shmem"));
    SharedFile &s = get(v.file.dev, v.file.ino, v.path, anon);
    v.shared_file = index[std::make_pair(v.file.dev, v.file.ino)];
    s.size = std::max<uint64_t>(s.size, v.pgoff + (v.end - v.start));
  }

  // Allocated only when there is something to copy: the job is frozen, and first-touching
  // 8 MiB costs tens of ms on a virtual machine.
  std::vector<uint8_t> buf(img.shared_files.empty() ? 0 : 8u << 20);
  auto put = [&](SharedFile &s, uint64_t at, const uint8_t *p, size_t n) {
    for (size_t done = 0; done < n;) {
      ssize_t w = pwrite(image_fd, p + done, n - done, off_t(off + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) fail_pid(pid, "cannot write shared file contents to the image: " + errno_str(w < 0 ? errno : EIO));
      done += size_t(w);
    }
    if (!s.runs.empty() && s.runs.back().addr + s.runs.back().len == at && s.runs.back().offset + s.runs.back().len == off) {
      s.runs.back().len += n;
      s.runs.back().crc32c = crc32c(s.runs.back().crc32c, p, n);
    } else {
      s.runs.push_back(PageRun{at, n, off, crc32c(0, p, n)});
    }
    off += n;
  };
  for (uint32_t i = 0; i < img.shared_files.size(); i++) {
    SharedFile &s = img.shared_files[i];
    const std::string what = s.kind == SHARED_ANON ? "shared anonymous memory" : s.kind == SHARED_MEMFD ? "memfd:" + s.name : s.name + " (deleted)";
    auto fit = fd_of.find(i + 1);
    int src = -1;
    if (fit != fd_of.end()) src = open((base + "/fd/" + std::to_string(fit->second)).c_str(), O_RDONLY | O_CLOEXEC);
    if (src >= 0) {
      // The file itself: its size, seals, mode and the data regions (holes stay holes).
      struct stat st;
      if (fstat(src, &st) == 0) s.size = uint64_t(st.st_size), s.mode = st.st_mode & 07777;
      // Only a memfd's seals are the program's: any other tmpfs file (a deleted /dev/shm
      // file, as UCX keeps) reports F_SEAL_SEAL from birth, and none can be added to it.
      long seals = s.kind == SHARED_MEMFD ? fcntl(src, F_GET_SEALS) : 0;
      s.seals = seals > 0 ? uint32_t(seals) : 0;
      for (off_t pos = 0; uint64_t(pos) < s.size;) {
        off_t d = lseek(src, pos, SEEK_DATA);
        if (d < 0) break;
        off_t h = lseek(src, d, SEEK_HOLE);
        if (h < 0) h = off_t(s.size);
        d &= ~off_t(kPage - 1);
        for (off_t a = d; a < h;) {
          size_t want = size_t(std::min<off_t>(off_t(buf.size()), h - a));
          ssize_t n = pread(src, buf.data(), want, a);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) {
            int e = errno;
            close(src);
            fail_pid(pid, "cannot read " + what + ": " + errno_str(e));
          }
          if (n == 0) break;
          size_t len = (size_t(n) + kPage - 1) & ~size_t(kPage - 1);   // whole pages; the tail is zeros
          memset(buf.data() + n, 0, len - size_t(n));
          put(s, uint64_t(a), buf.data(), len);
          a += n;
        }
        pos = h;
      }
      close(src);
      continue;
    }
    // No descriptor left (or it cannot be opened): the contents are what the mappings show.
    int mem = open((base + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
    if (mem < 0) fail_pid(pid, "cannot open " + base + "/mem: " + errno_str(errno));
    std::vector<const VmaImage *> vs;
    for (const VmaImage &v : img.vmas)
      if (v.shared_file == i + 1) vs.push_back(&v);
    std::sort(vs.begin(), vs.end(), [](const VmaImage *a, const VmaImage *b) { return a->pgoff < b->pgoff; });
    uint64_t covered = 0;
    for (const VmaImage *v : vs) {
      uint64_t from = std::max(covered, v->pgoff), to = v->pgoff + (v->end - v->start);
      for (uint64_t a = from; a < to;) {
        size_t want = size_t(std::min<uint64_t>(buf.size(), to - a));
        ssize_t n = pread(mem, buf.data(), want, off_t(v->start + (a - v->pgoff)));
        if (n <= 0) {
          int e = n < 0 ? errno : EIO;
          close(mem);
          fail_pid(pid, "cannot read " + what + " through its mapping at " + std::to_string(v->start) + ": " + errno_str(e));
        }
        put(s, a, buf.data(), size_t(n) & ~size_t(kPage - 1));
        a += uint64_t(n) & ~uint64_t(kPage - 1);
        if (size_t(n) < kPage) break;
      }
      covered = std::max(covered, to);
    }
    close(mem);
  }
  return off;
}

uint64_t dump_pipes(pid_t pid, int image_fd, uint64_t off, ProcessImage &img) {
  const std::string base = "/proc/" + std::to_string(pid);
  std::map<std::pair<uint64_t, uint64_t>, uint32_t> index;   // (dev, ino) -> index + 1
  for (FdImage &f : img.fds) {
    if (f.kind != FD_PIPE) continue;
    auto key = std::make_pair(f.file.dev, f.file.ino);
    auto it = index.find(key);
    if (it != index.end()) {
      f.pipe = it->second;
      PipeImage &p = img.pipes[it->second - 1];
      if (p.packet != ((f.flags & O_DIRECT) != 0))
        fail_pid(pid, "fd " + std::to_string(f.fd) + " is " + f.path + ": its two ends disagree on packet mode (O_DIRECT)");
      continue;
    }
    const std::string what = "fd " + std::to_string(f.fd) + " is " + f.path;
    PipeImage p;
    p.file = f.file;
    if (!starts(f.path, "pipe:")) p.path = f.path;   // a FIFO, opened by path again
    p.packet = (f.flags & O_DIRECT) != 0;
    // Our own reader on the same pipe (like opening a FIFO: non-blocking, so no writer is
    // waited for). tee() copies the bytes in flight into a pipe of ours without taking them
    // out of the job's: a failed or aborted checkpoint leaves the job's data where it was.
    int src = open((base + "/fd/" + std::to_string(f.fd)).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (src < 0) fail_pid(pid, what + ": cannot open it to read the bytes in flight: " + errno_str(errno));
    int cap = fcntl(src, F_GETPIPE_SZ);
    int avail = 0;
    if (cap < 0 || ioctl(src, FIONREAD, &avail) < 0) {
      int e = errno;
      close(src);
      fail_pid(pid, what + ": cannot query it: " + errno_str(e));
    }
    p.capacity = uint32_t(cap);
    p.bytes = uint64_t(avail);
    if (avail > 0 && p.packet) {
      close(src);
      fail_pid(pid, what + ": a packet-mode pipe (O_DIRECT) with data in flight is not supported yet");
    }
    if (avail > 0) {
      int mine[2];
      if (pipe2(mine, O_CLOEXEC | O_NONBLOCK) < 0) {
        int e = errno;
        close(src);
        fail_pid(pid, what + ": pipe2: " + errno_str(e));
      }
      // Same capacity = as many buffer slots: tee hands over buffers, not bytes.
      fcntl(mine[1], F_SETPIPE_SZ, cap);
      ssize_t n = tee(src, mine[1], size_t(avail), SPLICE_F_NONBLOCK);
      int e = errno;
      close(src);
      if (n != avail) {
        close(mine[0]);
        close(mine[1]);
        fail_pid(pid, what + ": could copy only " + std::to_string(n < 0 ? 0 : n) + " of its " + std::to_string(avail) +
                          " bytes in flight" + (n < 0 ? ": " + errno_str(e) : std::string()));
      }
      std::vector<uint8_t> buf(size_t(avail) + 1);
      ssize_t got = read(mine[0], buf.data(), buf.size());
      e = errno;
      close(mine[0]);
      close(mine[1]);
      if (got != avail) fail_pid(pid, what + ": reading its copied bytes: " + (got < 0 ? errno_str(e) : "short read"));
      for (size_t done = 0; done < size_t(avail);) {
        ssize_t w = pwrite(image_fd, buf.data() + done, size_t(avail) - done, off_t(off + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) fail_pid(pid, "cannot write pipe contents to the image: " + errno_str(w < 0 ? errno : EIO));
        done += size_t(w);
      }
      p.runs.push_back(PageRun{0, uint64_t(avail), off, crc32c(0, buf.data(), size_t(avail))});
      off += uint64_t(avail);
    } else {
      close(src);
    }
    img.pipes.push_back(std::move(p));
    index[key] = f.pipe = uint32_t(img.pipes.size());
  }
  return off;
}

uint64_t dump_tmpfs_files(pid_t pid, int image_fd, uint64_t off, ProcessImage &img) {
  constexpr long kTmpfsMagic = 0x01021994;
  std::set<std::pair<uint64_t, uint64_t>> seen;
  std::vector<uint8_t> buf;
  for (const VmaImage &v : img.vmas) {
    if (v.kind != VMA_FILE_SHARED || !seen.insert({v.file.dev, v.file.ino}).second) continue;
    struct statfs fs;
    if (statfs(v.path.c_str(), &fs) < 0 || fs.f_type != kTmpfsMagic) continue;
    const std::string what = "the shared memory file " + v.path;
    int src = open(v.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (src < 0 || fstat(src, &st) < 0 || uint64_t(st.st_dev) != v.file.dev || uint64_t(st.st_ino) != v.file.ino) {
      if (src >= 0) close(src);
      fail_pid(pid, "cannot read " + what + ": it is gone or replaced");
    }
    TmpfsFile t;
    t.path = v.path;
    t.file = v.file;
    t.size = uint64_t(st.st_size);
    t.mode = st.st_mode & 07777;
    if (buf.empty()) buf.resize(8u << 20);
    for (off_t pos = 0; uint64_t(pos) < t.size;) {
      off_t d = lseek(src, pos, SEEK_DATA);
      if (d < 0) break;
      off_t h = lseek(src, d, SEEK_HOLE);
      if (h < 0) h = off_t(t.size);
      d &= ~off_t(kPage - 1);
      for (off_t a = d; a < h;) {
        ssize_t n = pread(src, buf.data(), size_t(std::min<off_t>(off_t(buf.size()), h - a)), a);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          int e = n < 0 ? errno : EIO;
          close(src);
          fail_pid(pid, "cannot read " + what + ": " + errno_str(e));
        }
        const size_t len = (size_t(n) + kPage - 1) & ~size_t(kPage - 1);   // whole pages; the tail is zeros
        memset(buf.data() + n, 0, len - size_t(n));
        for (size_t done = 0; done < len;) {
          ssize_t w = pwrite(image_fd, buf.data() + done, len - done, off_t(off + done));
          if (w < 0 && errno == EINTR) continue;
          if (w <= 0) {
            close(src);
            fail_pid(pid, "cannot write " + what + " to the image: " + errno_str(w < 0 ? errno : EIO));
          }
          done += size_t(w);
        }
        t.runs.push_back(PageRun{uint64_t(a), len, off, crc32c(0, buf.data(), len)});
        off += len;
        a += n;
      }
      pos = h;
    }
    close(src);
    img.tmpfs_files.push_back(std::move(t));
  }
  return off;
}

void restore_tmpfs_files(const std::vector<const ProcessImage *> &procs, const std::vector<std::string> &image_paths) {
  std::set<std::string> done;
  std::vector<uint8_t> buf;
  for (size_t i = 0; i < procs.size(); i++)
    for (const TmpfsFile &t : procs[i]->tmpfs_files) {
      if (!done.insert(t.path).second) continue;
      const std::string at = "pid " + std::to_string(procs[i]->ns_pid) + " (" + procs[i]->comm + "): cannot restore " + t.path;
      if (t.path.empty() || t.path[0] != '/') throw std::runtime_error(at + ": not an absolute path");
      int img = open(image_paths[i].c_str(), O_RDONLY | O_CLOEXEC);
      if (img < 0) throw std::runtime_error(at + ": cannot open image " + image_paths[i] + ": " + errno_str(errno));
      int fd = open(t.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, t.mode ? t.mode : 0600);
      if (fd < 0 || ftruncate(fd, 0) < 0 || ftruncate(fd, off_t(t.size)) < 0) {
        const int e = errno;
        if (fd >= 0) close(fd);
        close(img);
        throw std::runtime_error(at + ": " + errno_str(e));
      }
      std::string err;
      for (const PageRun &r : t.runs) {
        buf.resize(r.len);
        if (pread(img, buf.data(), r.len, off_t(r.offset)) != ssize_t(r.len)) err = "image " + image_paths[i] + " is cut short";
        else if (crc32c(0, buf.data(), r.len) != r.crc32c) err = "image " + image_paths[i] + " is corrupted (checksum)";
        else if (r.addr < t.size && pwrite(fd, buf.data(), size_t(std::min<uint64_t>(r.len, t.size - r.addr)), off_t(r.addr)) < 0)
          err = errno_str(errno);
        if (!err.empty()) break;
      }
      close(fd);
      close(img);
      if (!err.empty()) throw std::runtime_error(at + ": " + err);
    }
}

}  // namespace cairn
