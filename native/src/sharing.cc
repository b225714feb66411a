#include "sharing.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <stdexcept>
#include <string>

namespace cairn {

namespace {

constexpr int kKcmpFile = 0, kKcmpVm = 1;   // KCMP_FILE, KCMP_VM

}  // namespace

std::vector<OfdId> open_file_descriptions(const std::vector<pid_t> &pids) {
  // Descriptors of one inode are the only candidates for sharing a description: group by
  // (dev, ino) first, then split each group with kcmp against one member per description.
  struct Rep {
    pid_t pid;
    int fd;
    uint32_t ofd;
  };
  std::map<std::pair<uint64_t, uint64_t>, std::vector<Rep>> by_inode;
  std::vector<OfdId> out;
  uint32_t next = 1;
  for (pid_t pid : pids) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    DIR *d = opendir(dir.c_str());
    if (!d) continue;   // gone: the caller notices elsewhere
    std::vector<int> fds;
    while (dirent *e = readdir(d))
      if (e->d_name[0] >= '0' && e->d_name[0] <= '9') fds.push_back(atoi(e->d_name));
    closedir(d);
    for (int fd : fds) {
      struct stat st;
      if (stat((dir + "/" + std::to_string(fd)).c_str(), &st) < 0) continue;
      std::vector<Rep> &reps = by_inode[{uint64_t(st.st_dev), uint64_t(st.st_ino)}];
      uint32_t ofd = 0;
      for (const Rep &r : reps) {
        long k = syscall(SYS_kcmp, r.pid, pid, kKcmpFile, r.fd, fd);
        if (k < 0) {
          if (errno == EBADF) continue;
          throw std::runtime_error("pid " + std::to_string(pid) + ": cannot compare its fd " + std::to_string(fd) +
                                   " with fd " + std::to_string(r.fd) + " of pid " + std::to_string(r.pid) +
                                   " (kcmp): " + strerror(errno));
        }
        if (k == 0) {
          ofd = r.ofd;
          break;
        }
      }
      if (!ofd) {
        ofd = next++;
        reps.push_back(Rep{pid, fd, ofd});
      }
      out.push_back(OfdId{pid, fd, ofd});
    }
  }
  return out;
}

bool same_memory(pid_t a, pid_t b) {
  long k = syscall(SYS_kcmp, a, b, kKcmpVm, 0, 0);
  if (k < 0)
    throw std::runtime_error("pid " + std::to_string(b) + ": cannot compare its memory with pid " + std::to_string(a) +
                             " (kcmp): " + strerror(errno));
  return k == 0;
}

}  // namespace cairn
