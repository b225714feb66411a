// Written-page tracking (tracking.h).
#include "tracking.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <stdexcept>

#include "injection.h"
#include "memory.h"
#include "pagemap_scan.h"
#include "process.h"

namespace cairn {

namespace {

// Linux 6.7's, newer than Debian 12's headers.
constexpr uint64_t kFeatureWpUnpopulated = 1ULL << 13, kFeatureWpAsync = 1ULL << 15;
using pagemap::kCheckWpAsync, pagemap::kIsWritten, pagemap::kScan, pagemap::kWpMatching, pagemap::page_region,
    pagemap::pm_scan_arg;

}  // namespace

Tracker::~Tracker() {
  if (uffd >= 0) close(uffd);
  if (pidfd >= 0) close(pidfd);
}

bool Tracker::alive() const { return pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0; }

bool Tracker::covers(uint64_t start, uint64_t end) const {
  for (auto &r : ranges)
    if (r.first <= start && end <= r.second) return true;
  return false;
}

bool trackable(const MapEntry &m) {
  if (m.perms[1] != 'w' || m.perms[3] != 'p') return false;
  return m.path.empty() || m.path[0] == '[';   // anonymous, [heap], [stack], [anon:...]
}

bool arm_tracker(pid_t pid, pid_t leader, Tracker &t, std::string *why_not) {
  const uint64_t insn = vdso_syscall_insn(pid);
  if (!insn) fail_pid(pid, "no syscall instruction found in its [vdso]");
  int pidfd = int(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    *why_not = "pidfd_open: " + errno_str(errno);
    return false;
  }
  int ours = -1;
  with_injection(pid, leader, insn, [&](const Inject &inject, uint64_t) {
    long fd = inject(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY, 0, 0, 0);
    if (fd < 0) {
      *why_not = "userfaultfd: " + errno_str(int(-fd));
      return;
    }
    ours = int(syscall(SYS_pidfd_getfd, pidfd, int(fd), 0));
    int e = errno;
    inject(SYS_close, fd, 0, 0, 0);
    if (ours < 0) *why_not = "pidfd_getfd: " + errno_str(e);
  });
  if (ours < 0) {
    close(pidfd);
    return false;
  }
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = kFeatureWpAsync | kFeatureWpUnpopulated;
  if (ioctl(ours, UFFDIO_API, &api) < 0) {
    *why_not = "UFFDIO_API (asynchronous write-protect): " + errno_str(errno);
    close(ours);
    close(pidfd);
    return false;
  }
  t.uffd = ours;
  t.pidfd = pidfd;
  return true;
}

void protect_ranges(Tracker &t, const std::vector<std::pair<uint64_t, uint64_t>> &ranges) {
  for (auto &r : ranges) {
    uffdio_register reg{};
    reg.range.start = r.first;
    reg.range.len = r.second - r.first;
    reg.mode = UFFDIO_REGISTER_MODE_WP;
    if (ioctl(t.uffd, UFFDIO_REGISTER, &reg) < 0) continue;
    uffdio_writeprotect wp{};
    wp.range = reg.range;
    wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
    if (ioctl(t.uffd, UFFDIO_WRITEPROTECT, &wp) < 0) {
      uffdio_range un = reg.range;
      ioctl(t.uffd, UFFDIO_UNREGISTER, &un);
      continue;
    }
    t.ranges.push_back(r);
  }
}

void protect_untracked(Tracker &t, const std::vector<MapEntry> &maps, const ProcessImage &plan) {
  constexpr uint64_t kSparseFactor = 8, kSparseSlack = 1ull << 30;
  std::map<uint64_t, uint64_t> saved;   // VMA start -> bytes of its pages in the plan
  for (const VmaImage &v : plan.vmas)
    for (const PageRun &r : v.runs) saved[v.start] += r.len;
  std::vector<std::pair<uint64_t, uint64_t>> fresh;
  for (const MapEntry &m : maps) {
    if (!trackable(m) || (m.uffd_wp && t.covers(m.start, m.end))) continue;
    auto it = saved.find(m.start);
    const uint64_t pages = it == saved.end() ? 0 : it->second;
    if (m.end - m.start <= kSparseFactor * pages + kSparseSlack) fresh.emplace_back(m.start, m.end);
  }
  protect_ranges(t, fresh);
}

bool written_since(int pagemap_fd, uint64_t start, uint64_t end, std::vector<std::pair<uint64_t, uint64_t>> &out) {
  static thread_local std::vector<page_region> regs(4096);
  pm_scan_arg a{};
  a.size = sizeof a;
  a.flags = kWpMatching | kCheckWpAsync;
  a.start = start;
  a.end = end;
  a.vec = reinterpret_cast<uint64_t>(regs.data());
  a.vec_len = regs.size();
  a.category_mask = kIsWritten;
  a.return_mask = kIsWritten;
  while (a.start < a.end) {
    long n = ioctl(pagemap_fd, kScan, &a);
    if (n < 0) return false;
    for (long i = 0; i < n; i++) {
      const page_region &g = regs[size_t(i)];
      if (!out.empty() && out.back().second == g.start)
        out.back().second = g.end;
      else
        out.emplace_back(g.start, g.end);
    }
    if (a.walk_end <= a.start) break;
    a.start = a.walk_end;
  }
  return true;
}

}  // namespace cairn
