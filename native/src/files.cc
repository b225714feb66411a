#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "fd_kinds.h"
#include "process.h"
#include "ptys.h"

namespace cairn {

namespace {

std::string readlink_str(const std::string &p) {
  char buf[4096];
  ssize_t n = readlink(p.c_str(), buf, sizeof buf - 1);
  if (n < 0) return std::string();
  return std::string(buf, size_t(n));
}

// Character devices that carry no state: reopening them is all a restart needs.
bool stateless_chardev(const struct stat &st) {
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1) return false;
  unsigned m = minor(st.st_rdev);
  return m == 3 || m == 5 || m == 7 || m == 8 || m == 9;   // null, zero, full, random, urandom
}

std::string unsupported_kind(const std::string &target, const struct stat &st) {
  if (target.rfind("pipe:", 0) == 0) return "pipes are not supported yet";
  if (target.rfind("anon_inode:", 0) == 0) {
    std::string k = target.substr(11);
    k.erase(std::remove(k.begin(), k.end(), '['), k.end());
    k.erase(std::remove(k.begin(), k.end(), ']'), k.end());
    return k + " descriptors are not supported yet";
  }
  if (S_ISCHR(st.st_mode)) {
    if (target.rfind("/dev/pts/", 0) == 0 || target.rfind("/dev/tty", 0) == 0)
      return "terminals other than the launcher's stdio are not supported yet";
    return "character devices are not supported yet";
  }
  if (S_ISBLK(st.st_mode)) return "block devices are not supported yet";
  if (S_ISFIFO(st.st_mode)) return "FIFOs are not supported yet";
  return "this kind of descriptor is not supported yet";
}

}  // namespace

std::vector<FdImage> dump_fds(pid_t pid, const std::vector<StdioIdentity> &stdio) {
  const std::string base = "/proc/" + std::to_string(pid);
  DIR *d = opendir((base + "/fd").c_str());
  if (!d) fail_pid(pid, "cannot read " + base + "/fd: " + errno_str(errno));
  std::vector<int> nums;
  while (dirent *e = readdir(d))
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') nums.push_back(atoi(e->d_name));
  closedir(d);
  std::sort(nums.begin(), nums.end());

  std::vector<FdImage> out;
  for (int fd : nums) {
    const std::string link = base + "/fd/" + std::to_string(fd);
    std::string target = readlink_str(link);
    struct stat st;
    if (target.empty() || stat(link.c_str(), &st) < 0) {
      if (errno == ENOENT) continue;   // closed meanwhile (cannot happen while frozen, but harmless)
      fail_pid(pid, "cannot inspect fd " + std::to_string(fd) + ": " + errno_str(errno));
    }
    FdImage f;
    f.fd = fd;
    f.path = target;
    std::string info;
    if (!read_text(base + "/fdinfo/" + std::to_string(fd), info))
      fail_pid(pid, "cannot read " + base + "/fdinfo/" + std::to_string(fd) + ": " + errno_str(errno));
    for (size_t p = 0; p < info.size();) {
      size_t e = info.find('\n', p);
      if (e == std::string::npos) e = info.size();
      std::string line = info.substr(p, e - p);
      if (line.rfind("pos:", 0) == 0) f.pos = strtoull(line.c_str() + 4, nullptr, 10);
      if (line.rfind("flags:", 0) == 0) {
        unsigned long fl = strtoul(line.c_str() + 6, nullptr, 8);
        f.cloexec = (fl & O_CLOEXEC) != 0;
        f.flags = uint32_t(fl & ~unsigned(O_CLOEXEC));
      }
      p = e + 1;
    }
    const std::string what = "fd " + std::to_string(fd) + " is " + target;
    auto stdio_index = [&]() -> int {
      for (size_t k = 0; k < stdio.size(); k++)
        if (stdio[k].valid && stdio[k].dev == uint64_t(st.st_dev) && stdio[k].ino == uint64_t(st.st_ino)) return int(k);
      return -1;
    };
    int inherited = S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) ? -1 : stdio_index();
    if (inherited >= 0) {
      // The launcher's pipe, socket or terminal: the restarter's takes its place. Checked
      // before the kinds below, which would save it as a pipe or socket of the job's own.
      f.kind = FD_INHERITED;
      f.inherited_index = uint32_t(inherited);
    } else if (dump_fd_kind(pid, f, target, info, st)) {
      // eventfd, timerfd, signalfd, epoll, inotify, memfd, deleted file or pipe: fd_kinds.cc
    } else if (S_ISREG(st.st_mode)) {
      if (target.empty() || target[0] != '/') fail_pid(pid, what + ": a file without a path is not supported yet");
      f.kind = FD_FILE;
      f.size = uint64_t(st.st_size);
      f.file.dev = uint64_t(st.st_dev);
      f.file.ino = uint64_t(st.st_ino);
      f.file.size = uint64_t(st.st_size);
      f.file.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    } else if (S_ISDIR(st.st_mode)) {
      f.kind = FD_DIRECTORY;
    } else if (S_ISSOCK(st.st_mode)) {
      // The Socket itself is made by dump_sockets (sockets.cc), from file.ino.
      f.kind = FD_SOCKET;
      f.file.dev = uint64_t(st.st_dev);
      f.file.ino = uint64_t(st.st_ino);
    } else if (stateless_chardev(st)) {
      f.kind = FD_DEVNULL;
    } else if (dump_pty_fd(f, info, st)) {
      // a pseudo-terminal made in the job: its pair is saved by dump_ptys (ptys.cc)
    } else {
      fail_pid(pid, what + ": " + unsupported_kind(target, st));
    }
    dump_fd_locks(pid, f, info);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace cairn
