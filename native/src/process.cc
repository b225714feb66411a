// Dump of one frozen process: attributes from /proc, per-thread state through ptrace and
// injected system calls, then descriptors and memory.
#include "process.h"
#include "monotonic.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <map>
#include <stdexcept>
#include <functional>
#include <thread>
#include <utility>

#include "fd_kinds.h"
#include "snapshot.h"
#include "memory.h"
#include "ptys.h"
#include "procstate.h"
#include "sockets.h"
#include "threads.h"

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif

namespace cairn {

std::string errno_str(int e) { return strerror(e); }

bool read_text(const std::string &path, std::string &out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      errno = e;
      return false;
    }
    if (n == 0) break;
    out.append(buf, size_t(n));
  }
  close(fd);
  return true;
}

std::string comm_of(pid_t pid) {
  std::string s;
  if (!read_text("/proc/" + std::to_string(pid) + "/comm", s) || s.empty()) return "?";
  if (s.back() == '\n') s.pop_back();
  return s;
}

std::string who(pid_t pid) { return "pid " + std::to_string(pid) + " (" + comm_of(pid) + ")"; }

void fail_pid(pid_t pid, const std::string &what) { throw std::runtime_error(who(pid) + ": " + what); }

namespace {

struct rseq_config {
  uint64_t rseq_abi_pointer;
  uint32_t rseq_abi_size, signature, flags, pad;
};

std::string readlink_str(const std::string &p) {
  char buf[4096];
  ssize_t n = readlink(p.c_str(), buf, sizeof buf - 1);
  if (n < 0) return std::string();
  return std::string(buf, size_t(n));
}

// Value of "Key:\t..." in /proc/PID/status.
std::string status_field(const std::string &status, const char *key) {
  std::string k = std::string("\n") + key + ":";
  size_t p = status.find(k);
  if (p == std::string::npos) {
    if (status.rfind(std::string(key) + ":", 0) != 0) return std::string();
    p = 0;
    k = k.substr(1);
  }
  p += k.size();
  while (p < status.size() && (status[p] == ' ' || status[p] == '\t')) p++;
  size_t e = status.find('\n', p);
  return status.substr(p, e == std::string::npos ? std::string::npos : e - p);
}

double ms_since(const timespec &t0) {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0.tv_sec) * 1e3 + (t.tv_nsec - t0.tv_nsec) / 1e6;
}

bool peek(pid_t pid, uint64_t addr, void *buf, size_t len) {
  iovec l = {buf, len}, r = {reinterpret_cast<void *>(addr), len};
  return process_vm_readv(pid, &l, 1, &r, 1, 0) == ssize_t(len);
}

bool poke(pid_t pid, uint64_t addr, const void *buf, size_t len) {
  iovec l = {const_cast<void *>(buf), len}, r = {reinterpret_cast<void *>(addr), len};
  return process_vm_writev(pid, &l, 1, &r, 1, 0) == ssize_t(len);
}

constexpr size_t kScratch = 512;   // room for struct utsname (390 bytes) and friends

// Everything about one thread that needs injected system calls. The thread's registers,
// signal mask and the scratch bytes below its stack pointer are put back exactly on every
// path out, so it resumes as if nothing happened.
void thread_state(pid_t pid, pid_t tid, bool leader, uint64_t insn, const std::string &status, ThreadImage &t,
                  ProcessImage &img) {
  user_regs_struct orig;
  if (int e = get_regs(tid, orig)) fail_pid(pid, "thread " + std::to_string(tid) + ": cannot read registers: " + errno_str(-e));
  // A call resumed through restart_syscall is saved as the call it is: a restored thread runs
  // it again from its arguments (fixup_restart), having no restart block.
  user_regs_struct as_saved = orig;
  as_saved.orig_rax = uint64_t(restarted_call(tid, orig));
  t.regs.assign(reinterpret_cast<uint8_t *>(&as_saved), reinterpret_cast<uint8_t *>(&as_saved) + sizeof as_saved);
  t.xstate = get_xstate(tid);
  uint64_t mask = 0;
  if (ptrace(PTRACE_GETSIGMASK, tid, sizeof mask, &mask) < 0)
    fail_pid(pid, "thread " + std::to_string(tid) + ": PTRACE_GETSIGMASK: " + errno_str(errno));
  t.sigmask = mask;
  void *head = nullptr;
  size_t hlen = 0;
  if (syscall(SYS_get_robust_list, tid, &head, &hlen) == 0) {
    t.robust_list = reinterpret_cast<uint64_t>(head);
    t.robust_list_len = hlen;
  }
  rseq_config rc{};
  if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, sizeof rc, &rc) > 0) {
    t.rseq_ptr = rc.rseq_abi_pointer;
    t.rseq_len = rc.rseq_abi_size;
    t.rseq_sig = rc.signature;
  }

  // Below the red zone (128 bytes), where a signal frame would go: nothing live there.
  const uint64_t scratch = (orig.rsp - 128 - 2 * kScratch) & ~uint64_t(63);
  uint8_t saved[kScratch];
  const bool have_saved = peek(pid, scratch, saved, sizeof saved);
  uint64_t all = ~uint64_t(0);
  // Blocked signals cannot cause a signal-delivery stop in the middle of an injection.
  ptrace(PTRACE_SETSIGMASK, tid, sizeof all, &all);
  std::string error;
  try {
    auto inject = [&](long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0) {
      return inject_syscall(tid, orig, insn, nr, a1, a2, a3, a4);
    };
    const long s = long(scratch);
    if (long r = inject(SYS_prctl, PR_GET_TID_ADDRESS, s); r != 0)
      throw std::runtime_error("prctl(PR_GET_TID_ADDRESS) = " + std::to_string(r));
    peek(pid, scratch, &t.clear_child_tid, 8);
    if (long r = inject(SYS_sigaltstack, 0, s); r != 0)
      throw std::runtime_error("sigaltstack = " + std::to_string(r));
    uint8_t ss[24];
    if (peek(pid, scratch, ss, sizeof ss)) {   // stack_t: ss_sp, ss_flags, ss_size
      int32_t fl;
      memcpy(&t.altstack_sp, ss, 8);
      memcpy(&fl, ss + 8, 4);
      memcpy(&t.altstack_size, ss + 16, 8);
      t.altstack_flags = fl;
    }
    // Per thread: /proc/PID/timerslack_ns has no task/TID twin and wants CAP_SYS_NICE.
    long slack = inject(SYS_prctl, PR_GET_TIMERSLACK);
    if (slack < 0) throw std::runtime_error("prctl(PR_GET_TIMERSLACK) = " + std::to_string(slack));
    t.timerslack_ns = uint64_t(slack);
    if (leader) {
      img.mm.brk = uint64_t(inject(SYS_brk, 0));
      // The UTS name as the job sees it: only the process itself can ask its namespace.
      if (inject(SYS_uname, s) == 0) {
        char node[66] = {};
        if (peek(pid, scratch + 65, node, 65)) img.hostname = node;
      }
      auto hexmask = [&](const char *key) { return strtoull(status_field(status, key).c_str(), nullptr, 16); };
      uint64_t sigs = hexmask("SigCgt") | hexmask("SigIgn");
      for (int sig = 1; sig <= 64; sig++) {
        if (!(sigs & (1ULL << (sig - 1))) || sig == SIGKILL || sig == SIGSTOP) continue;
        long r = inject(SYS_rt_sigaction, sig, 0, s, 8);
        if (r != 0) throw std::runtime_error("rt_sigaction(" + std::to_string(sig) + ") = " + std::to_string(r));
        uint64_t sa[4];   // kernel struct sigaction: handler, flags, restorer, mask
        if (!peek(pid, scratch, sa, sizeof sa)) throw std::runtime_error("cannot read back a sigaction");
        if (sa[0] == 0) continue;   // SIG_DFL
        img.sigactions.push_back(SigActionImage{sig, sa[0], sa[1], sa[2], sa[3]});
      }
      dump_process_injected(
          pid, tid, [&](long nr, long a1, long a2, long a3, long a4) { return inject(nr, a1, a2, a3, a4); },
          [&](uint64_t a, void *b, size_t n) { return peek(pid, a, b, n); }, scratch, img);
    }
  } catch (const std::exception &e) {
    error = e.what();
  }
  if (have_saved) poke(pid, scratch, saved, sizeof saved);
  // The thread now sits in a syscall-exit stop: resuming it does not apply the kernel's
  // -ERESTART* handling, so the fix-up is done here (rewind onto the interrupted syscall).
  user_regs_struct back = orig;
  fixup_restart(back);
  int se = set_regs(tid, back);
  ptrace(PTRACE_SETSIGMASK, tid, sizeof mask, &mask);
  if (!error.empty()) fail_pid(pid, "thread " + std::to_string(tid) + ": " + error);
  if (se) fail_pid(pid, "thread " + std::to_string(tid) + ": cannot restore registers: " + errno_str(-se));
}

// Incremental: arms the process's tracker on its first checkpoint; then, in every tracked
// VMA, the pages written since the last checkpoint (protected again at once), and with a base
// image the other pages become references into it. A VMA is tracked if it lies in a range we
// registered and the kernel scans it as asynchronously write-protected; `maps` need not have
// VmFlags yet: the starts of the VMAs taken as tracked are returned, for check_tracked.
std::vector<uint64_t> track_written(pid_t pid, pid_t leader, const std::vector<MapEntry> &maps, const DumpOptions &opts, PendingDump &p) {
  Tracker &t = *opts.tracker;
  DumpResult &res = p.res;
  std::vector<uint64_t> tracked;
  if (t.uffd < 0) {
    arm_tracker(pid, leader, t, &res.no_tracking);
    return tracked;   // nothing was protected before: this image is full
  }
  const std::string pm_path = "/proc/" + std::to_string(pid) + "/pagemap";
  int pm = open(pm_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (pm < 0) fail_pid(pid, "cannot open " + pm_path + ": " + errno_str(errno));
  const MapsByStart by_start(maps);
  auto written = [&](const VmaImage &v, std::vector<std::pair<uint64_t, uint64_t>> &w) {
    if (!by_start.same(v.start, v.end) || !t.covers(v.start, v.end)) return false;
    if (!written_since(pm, v.start, v.end, w)) return false;
    tracked.push_back(v.start);
    return true;
  };
  try {
    // An older image is referred to uncompressed only; this image's own copy made before the
    // freeze, compressed or not.
    const bool refer = opts.base && (opts.precopy || (opts.codec.kind == CODEC_NONE && opts.base->pages_codec == CODEC_NONE));
    if (refer) {
      // This image's own copy made before the freeze is given up to it (its file becomes
      // this image): its checksums move over.
      ProcessImage *spent = opts.precopy && opts.base == &opts.precopy->image ? &opts.precopy->image : nullptr;
      res.referenced = reference_base(res.image, *opts.base, opts.base_file, written, spent);
    } else {
      // No base to refer to: the scan only protects the written pages again, for next time.
      std::vector<std::pair<uint64_t, uint64_t>> w;
      for (const VmaImage &v : res.image.vmas) {
        w.clear();
        written(v, w);
      }
    }
  } catch (...) {
    close(pm);
    throw;
  }
  close(pm);
  return tracked;
}

// The byte ranges of the image that `copied` (the copy before the freeze) stored and no
// in_place run of `img` refers to.
std::vector<std::pair<uint64_t, uint64_t>> superseded_pages(const ProcessImage &copied, const ProcessImage &img) {
  std::vector<std::pair<uint64_t, uint64_t>> stored, kept, out;
  for (const VmaImage &v : copied.vmas)
    for (const PageRun &r : v.runs)
      if (r.file.empty() && r.len) stored.emplace_back(r.offset, r.offset + r.len);
  for (const VmaImage &v : img.vmas)
    for (const PageRun &r : v.runs)
      if (r.in_place && r.len) kept.emplace_back(r.offset, r.offset + r.len);
  std::sort(stored.begin(), stored.end());
  std::sort(kept.begin(), kept.end());
  size_t k = 0;
  for (auto [a, e] : stored) {
    while (k < kept.size() && kept[k].second <= a) k++;
    for (size_t j = k; a < e; j++) {
      const uint64_t next = j < kept.size() ? std::min(kept[j].first, e) : e;
      if (next > a) out.emplace_back(a, next);
      if (j >= kept.size() || kept[j].first >= e) break;
      a = std::max(a, kept[j].second);
    }
  }
  return out;
}

// The VMAs track_written took as tracked are registered for write-protect (VmFlags "uw"):
// otherwise what it scanned was another userfaultfd's, and its pages cannot be trusted.
void check_tracked(pid_t pid, const std::vector<MapEntry> &maps, const std::vector<uint64_t> &tracked) {
  for (uint64_t start : tracked)
    for (const MapEntry &m : maps)
      if (m.start == start && !m.uffd_wp) {
        char at[32];
        snprintf(at, sizeof at, "%llx", static_cast<unsigned long long>(start));
        fail_pid(pid, std::string("memory at ") + at + " is write-protected by a userfaultfd that is not cairn's");
      }
}

// Work run by a thread of its own while the caller goes on; its exception, if any, is
// thrown again by join(). Joined on every path out.
class Beside {
 public:
  explicit Beside(std::function<void()> f)
      : t_([this, f = std::move(f)] {
          try {
            f();
          } catch (...) {
            error_ = std::current_exception();
          }
        }) {}
  Beside(const Beside &) = delete;
  Beside &operator=(const Beside &) = delete;
  ~Beside() {
    if (t_.joinable()) t_.join();
  }
  void join() {
    if (t_.joinable()) t_.join();
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  std::exception_ptr error_;
  std::thread t_;   // last: started once error_ exists
};

}  // namespace

std::unique_ptr<PendingDump> dump_process(pid_t pid, const std::vector<pid_t> &tids, const DumpOptions &opts) {
  timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  auto p = std::make_unique<PendingDump>();
  DumpResult &res = p->res;
  ProcessImage &img = res.image;
  const std::string base = "/proc/" + std::to_string(pid);
  img.format_version = kImageFormatVersion;
  img.cairn_version = "0.1.0";
  img.comm = comm_of(pid);
  // Before anything reads /proc/PID: a non-dumpable process's files there are root's.
  DumpableGuard dumpable(pid, tids.empty() ? pid : tids[0]);
  img.non_dumpable = dumpable.changed();

  std::string status, stat;
  if (!read_text(base + "/status", status)) fail_pid(pid, "cannot read " + base + "/status: " + errno_str(errno));
  if (!read_text(base + "/stat", stat)) fail_pid(pid, "cannot read " + base + "/stat: " + errno_str(errno));
  img.umask = uint32_t(strtoul(status_field(status, "Umask").c_str(), nullptr, 8));
  img.ns_pid = ns_tid_of(pid);
  pid_t ppid = pid_t(atoi(status_field(status, "PPid").c_str()));
  // The parent's id in the job's namespace, if it is in it at all (same NSpid depth).
  auto depth = [](pid_t p) {
    std::string st;
    if (!read_text("/proc/" + std::to_string(p) + "/status", st)) return -1;
    std::string v = status_field(st, "NSpid");
    int n = 0;
    for (size_t i = 0; i < v.size(); i++)
      if (v[i] != ' ' && v[i] != '\t' && (i == 0 || v[i - 1] == ' ' || v[i - 1] == '\t')) n++;
    return n;
  };
  img.ns_ppid = ppid > 0 && depth(ppid) == depth(pid) ? ns_tid_of(ppid) : 0;
  if (img.ns_ppid < 0) img.ns_ppid = 0;
  // Innermost column = the job's namespace; 0 there = a group/session outside the job.
  auto innermost = [&](const char *key) {
    std::string v = status_field(status, key);
    size_t e = v.find_last_not_of(" \t");
    if (e == std::string::npos) return 0;
    size_t b = v.find_last_of(" \t", e);
    return atoi(v.c_str() + (b == std::string::npos ? 0 : b + 1));
  };
  img.ns_pgid = innermost("NSpgid");
  img.ns_sid = innermost("NSsid");

  // mm fields: fields 26.. of /proc/PID/stat (1-based), after the "(comm)" that may hold spaces.
  {
    size_t rp = stat.rfind(')');
    if (rp == std::string::npos) fail_pid(pid, "cannot parse " + base + "/stat");
    std::vector<uint64_t> f(64, 0);
    const char *q = stat.c_str() + rp + 2;
    int k = 3;
    while (*q && k < 64) {
      char *e;
      f[size_t(k)] = strtoull(q, &e, 10);
      if (e == q) {   // the state letter (field 3)
        while (*q && *q != ' ') q++;
      } else {
        q = e;
      }
      while (*q == ' ') q++;
      k++;
    }
    MmState &mm = img.mm;
    mm.start_code = f[26];
    mm.end_code = f[27];
    mm.start_stack = f[28];
    mm.start_data = f[45];
    mm.end_data = f[46];
    mm.start_brk = f[47];
    mm.arg_start = f[48];
    mm.arg_end = f[49];
    mm.env_start = f[50];
    mm.env_end = f[51];
    if (!mm.start_code && !mm.start_stack) fail_pid(pid, "mm fields of " + base + "/stat are hidden (no ptrace access?)");
  }
  std::string auxv;
  if (!read_text(base + "/auxv", auxv)) fail_pid(pid, "cannot read " + base + "/auxv: " + errno_str(errno));
  img.auxv.assign(auxv.begin(), auxv.end());
  img.exe = readlink_str(base + "/exe");
  img.cwd = readlink_str(base + "/cwd");
  if (img.exe.empty()) fail_pid(pid, "cannot read " + base + "/exe: " + errno_str(errno));
  std::string cmdline;
  if (read_text(base + "/cmdline", cmdline))
    for (size_t p = 0; p < cmdline.size();) {
      size_t e = cmdline.find('\0', p);
      if (e == std::string::npos) e = cmdline.size();
      img.argv.push_back(cmdline.substr(p, e - p));
      p = e + 1;
    }
  for (int r = 0; r < RLIM_NLIMITS; r++) {
    rlimit64 old;
    if (syscall(SYS_prlimit64, pid, r, nullptr, &old) < 0)
      fail_pid(pid, "prlimit(" + std::to_string(r) + "): " + errno_str(errno));
    img.rlimits.push_back(RlimitImage{r, old.rlim_cur, old.rlim_max});
  }

  img.fds = dump_fds(pid, opts.stdio);
  dump_sockets(pid, img);   // before any page is written: refusals come early

  std::vector<MapEntry> maps = read_maps_only(pid);   // VmFlags below
  img.special = special_mappings(maps);
  finish_fds(pid, img, maps);   // epoll targets, inotify paths (fd_kinds.cc)
  uint64_t insn = find_syscall_insn(pid, img.special.vdso_start, img.special.vdso_end);
  if (!insn) fail_pid(pid, "no syscall instruction found in its [vdso]");

  // Three things at once, none needing another: the VmFlags (smaps walks every page table),
  // the page plan with the written-page scan (pagemap walks them too), and the threads'
  // state (injected system calls: only this thread, the tracer, can make them). For a large
  // process each takes tens of ms while the job is frozen, and the first injected call pays
  // the most: its return to user mode after the tracker changed every page table (~10 ms per
  // GiB seen on a paravirtualized kernel). A tracker not armed yet is armed by injection, so
  // its scan waits for the state here. They write different fields of the image.
  std::vector<MapEntry> flagged;
  Beside smaps([&] { flagged = read_maps(pid); });
  const pid_t leader = tids.empty() ? pid : tids[0];
  const bool scan_beside = opts.tracker && opts.tracker->uffd >= 0;
  std::vector<uint64_t> tracked;
  Beside pages([&] {
    p->zero_ok = plan_memory(pid, maps, img);
    if (scan_beside) tracked = track_written(pid, leader, maps, opts, *p);
  });
  for (size_t i = 0; i < tids.size(); i++) {
    ThreadImage t;
    t.tid = ns_tid_of(tids[i]);
    if (t.tid < 0) fail_pid(pid, "thread " + std::to_string(tids[i]) + " vanished");
    thread_state(pid, tids[i], i == 0, insn, status, t, img);
    dump_thread_outside(pid, tids[i], t);
    img.threads.push_back(std::move(t));
  }
  res.ms_state = ms_since(t0);

  uint64_t extras_start = kPageDataOffset;
  int fd;
  if (opts.precopy) {   // its pages stay where they are; the rest follows them
    fd = opts.precopy->fd;
    opts.precopy->fd = -1;
    extras_start = (opts.precopy->end + 4095) & ~uint64_t(4095);
    p->logical_start = opts.precopy->logical_end;
    img.page_frames = opts.precopy->image.page_frames;
  } else {
    fd = open(opts.image_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fail_pid(pid, "cannot create image " + opts.image_path + ": " + errno_str(errno));
  }
  p->fd = fd;
  pages.join();
  if (opts.tracker && !scan_beside) tracked = track_written(pid, leader, maps, opts, *p);
  smaps.join();
  take_vmflags(pid, maps, flagged);
  check_tracked(pid, maps, tracked);
  // Raw pages written since their copy leave a hole; compressed ones stay in their frame.
  if (opts.precopy && opts.codec.kind == CODEC_NONE) p->superseded = superseded_pages(opts.precopy->image, img);
  {
    std::map<uint64_t, uint32_t> flags;
    for (const MapEntry &m : maps) flags[m.start] = m.flags;
    for (VmaImage &v : img.vmas) v.flags = flags[v.start];
  }
  // Everything but private memory is written now, from the start of the data area (after
  // the pages copied before the freeze): memfd / deleted file / shared anonymous contents
  // (fd_kinds.cc), bytes in flight in pipes, output in flight in the job's pseudo-terminals,
  // shared memory files (/dev/shm), data queued in socketpairs. The pages follow
  // (finish_dump), possibly after the job runs again.
  uint64_t end = dump_shared_files(pid, fd, extras_start, img);
  end = dump_pipes(pid, fd, end, img);
  end = dump_ptys(pid, fd, end, img);
  end = dump_tmpfs_files(pid, fd, end, img);
  end = dump_socket_queues(pid, fd, end, img);
  p->extras_end = end;
  p->codec = opts.codec;

  // The moment of the checkpoint, for the clocks: the job is frozen.
  img.clocks.monotonic_ns = clock_ns(CLOCK_MONOTONIC) + opts.mono_offset_ns;
  img.clocks.boottime_ns = clock_ns(CLOCK_BOOTTIME) + opts.boot_offset_ns;
  img.clocks.realtime_ns = clock_ns(CLOCK_REALTIME);

  if (opts.tracker && opts.tracker->uffd >= 0) {
    // From now on (the job is still frozen) every write is seen: anonymous memory not
    // tracked yet is registered and write-protected.
    protect_untracked(*opts.tracker, maps, img);
  }
  uint64_t to_store = 0;
  for (const VmaImage &v : img.vmas)
    for (const PageRun &r : v.runs)
      if (r.file.empty() && !r.in_place) to_store += r.len;
  // A snapshot costs a copy of the page tables (~0.1 s per GiB mapped with 4 KiB pages):
  // a few pages to store (an incremental image) are written sooner while frozen.
  constexpr uint64_t kSnapshotMinBytes = 64u << 20;
  if (opts.snapshot && to_store >= kSnapshotMinBytes) {
    if (!snapshot_holds_memory(img))
      p->no_snapshot = "memory marked MADV_DONTFORK or MADV_WIPEONFORK";
    else
      p->snapshot = take_snapshot(pid, tids.empty() ? pid : tids[0], opts.reaper, opts.leader_of, &p->no_snapshot);
  }
  res.ms_memory = ms_since(t0) - res.ms_state;
  return p;
}

DumpResult finish_dump(pid_t pid, PendingDump &p, uint64_t data_start) {
  timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  DumpResult &res = p.res;
  ProcessImage &img = res.image;
  constexpr uint64_t kPage = 4096;
  data_start = (std::max(data_start, p.extras_end) + kPage - 1) & ~(kPage - 1);
  MemoryStats ms;
  const uint64_t logical_start = p.codec.kind != CODEC_NONE && p.logical_start ? p.logical_start : data_start;
  res.pages_end = copy_memory(pid, p.snapshot ? p.snapshot : pid, PageDest{p.fd, data_start, logical_start, p.codec}, p.zero_ok, img, &ms);
  // A compressed image is never referred to: its pages' checksums (those copied before the
  // freeze have them) would only weigh down its metadata.
  if (p.codec.kind != CODEC_NONE)
    for (VmaImage &v : img.vmas)
      for (PageRun &r : v.runs) r.page_crcs.clear();
  // Pages copied before the freeze and written since: their first copy is given back to the
  // file system (where it can: otherwise it only takes room). By a thread of its own, as
  // this may run while the job is frozen: a hole punched waits for the file system's journal,
  // which on ext4 mounted with `discard` can be busy discarding gigabytes freed earlier
  // (2 s measured, for two ranges of a few pages). Nothing refers to these bytes, so the
  // image is right whether or not, or whenever, they are punched.
  if (!p.superseded.empty()) {
    const int pfd = dup(p.fd);
    if (pfd >= 0)
      std::thread([pfd, ranges = std::move(p.superseded)] {
        for (auto [a, e] : ranges) fallocate(pfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(a), off_t(e - a));
        close(pfd);
      }).detach();
  }
  // Compressed: the logical bytes (a copy before the freeze came first), as restore counts them.
  img.pages_bytes = p.codec.kind == CODEC_NONE ? data_start - kPageDataOffset + ms.bytes : ms.logical_end - kPageDataOffset;
  res.ms_pages_read = ms.read_ms;
  res.pages_stored = ms.stored;
  int fd = p.fd;
  p.fd = -1;
  if (close(fd) < 0) fail_pid(pid, "cannot write image: " + errno_str(errno));
  res.ms_memory += ms_since(t0);
  res.snapshot = p.snapshot != 0;
  discard_dump(p);
  // Moved, not copied: a copy of a large image (its page checksums: 4 MiB per 4 GiB) faults
  // in fresh memory page by page while the job may be frozen. The dump is done with it.
  return std::move(res);
}

void discard_dump(PendingDump &p) {
  if (p.fd >= 0) close(p.fd);
  p.fd = -1;
  if (p.snapshot) drop_snapshot(p.snapshot);
  p.snapshot = 0;
}

PendingDump::~PendingDump() { discard_dump(*this); }

}  // namespace cairn
