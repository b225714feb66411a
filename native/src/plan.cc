// ProcessImage -> flat restore plan (native/include/plan.h). Everything the restorer would
// have to guess or could get wrong is checked here, on the agent's side, where an error can
// name the process and the object in plain words.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/user.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include "../include/plan.h"
#include "procstate.h"
#include "restore.h"

namespace cairn {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kUserTop = 0x7ffffffff000ULL;

std::string hex(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

// Strings are stored once each; offset 0 is "none", so the table starts with a NUL byte.
class StringTable {
 public:
  StringTable() : bytes_(1, '\0') {}
  uint32_t add(const std::string &s) {
    if (s.empty()) return 0;
    if (s.find('\0') != std::string::npos) throw std::invalid_argument("string with a NUL byte: " + s);
    auto it = index_.find(s);
    if (it != index_.end()) return it->second;
    uint32_t off = uint32_t(bytes_.size());
    bytes_.append(s);
    bytes_.push_back('\0');
    index_.emplace(s, off);
    return off;
  }
  const std::string &bytes() const { return bytes_; }

 private:
  std::string bytes_;
  std::map<std::string, uint32_t> index_;
};

uint64_t align8(uint64_t v) { return (v + 7) & ~uint64_t(7); }

bool ends_with(const std::string &s, const char *suffix) {
  size_t n = strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

[[noreturn]] void refuse_plan(const std::string &who, const std::string &what) {
  throw std::runtime_error(who + ": cannot restore: " + what);
}

// A stream's bytes (a pipe's in flight, a socket's queued data) into the run table; refuses
// runs before the page data, and a total other than the one the image states.
uint64_t add_stream_runs(const std::vector<PageRun> &src, uint64_t stated, const std::string &at, const char *what,
                         std::vector<plan_run> &runs, const std::function<void(const std::string &)> &refuse) {
  uint64_t total = 0;
  for (const PageRun &r : src) {
    if (r.offset < kPageDataOffset) refuse(at + ": " + what + " at image offset " + std::to_string(r.offset));
    total += r.len;
    runs.push_back(plan_run{r.addr, r.len, r.offset, PLAN_NO_CRC});
  }
  if (total != stated) refuse(at + ": " + std::to_string(stated) + " " + what + ", " + std::to_string(total) + " saved");
  return total;
}

// Descriptor kinds beyond files, shared files and locks: the tables after plan_fd[].
struct FdTables {
  std::vector<plan_shm> shms;
  std::vector<plan_epoll> eps;
  std::vector<plan_watch> watches;
  std::vector<plan_lock> locks;
  std::vector<plan_pipe> pipes;
  std::vector<plan_socket> socks;

  // Shared files first: mappings and descriptors refer to them. Their runs join the run table.
  void add_shared_files(const ProcessImage &img, const std::map<uint32_t, int> &passed, std::vector<plan_run> &runs,
                        StringTable &strings, const std::function<void(const std::string &)> &refuse) {
    for (const SharedFile &s : img.shared_files) {
      const std::string at = "shared file " + (s.name.empty() ? std::string("(anonymous)") : s.name);
      if (s.kind > SHARED_ANON) refuse(at + ": unknown kind " + std::to_string(s.kind));
      if (s.kind == SHARED_DELETED && (s.name.empty() || s.name[0] != '/')) refuse(at + ": no directory to recreate it in");
      plan_shm p;
      memset(&p, 0, sizeof p);
      p.size = s.size;
      p.kind = s.kind;
      p.name = strings.add(s.name);
      p.seals = s.seals;
      p.mode = s.mode & 07777;
      p.first_run = uint32_t(runs.size());
      auto pass = passed.find(uint32_t(shms.size()));
      if (pass != passed.end()) {   // made and filled by the agent, shared with other processes
        p.passed = uint32_t(pass->second + 1);
        shms.push_back(p);
        continue;
      }
      uint64_t prev = 0;
      for (const PageRun &r : s.runs) {
        if (r.len == 0 || (r.addr | r.len) % kPage || r.addr < prev || r.addr + r.len > ((s.size + kPage - 1) & ~(kPage - 1)))
          refuse(at + ": contents run " + hex(r.addr) + "+" + hex(r.len) + " out of order or beyond its size");
        if (r.offset < kPageDataOffset) refuse(at + ": contents at image offset " + std::to_string(r.offset));
        prev = r.addr + r.len;
        runs.push_back(plan_run{r.addr, r.len, r.offset, PLAN_NO_CRC});
      }
      p.nruns = uint32_t(runs.size() - p.first_run);
      shms.push_back(p);
    }
  }

  // Pipes: their runs join the run table.
  // A pipe whose every descriptor here is passed (shared with other processes) was made and
  // refilled by the agent: it stays an empty placeholder, or its bytes would come twice.
  void add_pipes(const ProcessImage &img, const std::map<int32_t, int> &passed, std::vector<plan_run> &runs,
                 StringTable &strings, const std::function<void(const std::string &)> &refuse) {
    std::set<uint32_t> local;
    for (const FdImage &f : img.fds)
      if (f.kind == FD_PIPE && !passed.count(f.fd)) local.insert(f.pipe);
    for (size_t i = 0; i < img.pipes.size(); i++) {
      const PipeImage &s = img.pipes[i];
      const std::string at = "pipe:[" + std::to_string(s.file.ino) + "]";
      plan_pipe p;
      memset(&p, 0, sizeof p);
      if (!local.count(uint32_t(i + 1))) {
        pipes.push_back(p);
        continue;
      }
      p.capacity = s.capacity;
      p.packet = s.packet ? 1 : 0;
      if (!s.path.empty() && s.path[0] != '/') refuse(at + ": FIFO path " + s.path + " is not absolute");
      p.path = s.path.empty() ? 0 : strings.add(s.path);
      p.first_run = uint32_t(runs.size());
      const uint64_t total = add_stream_runs(s.runs, s.bytes, at, "bytes in flight", runs, refuse);
      if (s.capacity && total > s.capacity) refuse(at + ": more bytes in flight than it can hold");
      p.nruns = uint32_t(runs.size() - p.first_run);
      pipes.push_back(p);
    }
  }

  // Sockets: one entry per socket of the image, in image order (Fd.socket indexes both). One
  // whose descriptors are all passed is made by the agent and skipped by the restorer.
  void add_sockets(const ProcessImage &img, const PassMap &pass, std::vector<plan_run> &runs,
                   const std::function<void(const std::string &)> &refuse) {
    for (size_t i = 0; i < img.sockets.size(); i++) {
      const SocketImage &s = img.sockets[i];
      const std::string at = "socket:[" + std::to_string(s.ino) + "]";
      plan_socket p;
      memset(&p, 0, sizeof p);
      p.family = int32_t(s.family);
      p.type = int32_t(s.type);
      p.protocol = int32_t(s.protocol);
      p.state = s.state;
      p.backlog = s.backlog;
      p.shutdown = s.shutdown & 3;
      p.peek_off = s.peek_off;
      p.mode = s.mode & 07777;
      bool any = false, all_passed = true;
      for (const FdImage &f : img.fds)
        if (f.kind == FD_SOCKET && f.socket == i + 1) {
          any = true;
          all_passed &= pass.by_fd.count(f.fd) != 0;
        }
      p.passed = any && all_passed ? 1 : 0;
      if (s.state > SOCKET_BOUND) refuse(at + ": unknown state " + std::to_string(s.state));
      if (s.family != 1 /* AF_UNIX */ && s.family != 2 /* AF_INET */ && s.family != 10 /* AF_INET6 */)
        refuse(at + ": family " + std::to_string(s.family) + " is not supported");
      // A TCP connection is made by the agent (job_objects.cc); only checkRestorable, which
      // sees one image, gets here with it not passed.
      if (s.state == SOCKET_PAIR && s.family != 1 && s.protocol != 6 /* IPPROTO_TCP */)
        refuse(at + ": a connected socket that is neither UNIX nor TCP");
      if (s.name.size() > sizeof p.name || s.peer_name.size() > sizeof p.peer_name) refuse(at + ": address too long");
      memcpy(p.name, s.name.data(), s.name.size());
      memcpy(p.peer_name, s.peer_name.data(), s.peer_name.size());
      p.name_len = uint32_t(s.name.size());
      p.peer_len = uint32_t(s.peer_name.size());
      if (s.opts.size() > PLAN_SOCK_OPTS) refuse(at + ": too many socket options");
      for (size_t k = 0; k < s.opts.size(); k++) {
        p.opts[k][0] = s.opts[k].level;
        p.opts[k][1] = s.opts[k].name;
        p.opts[k][2] = s.opts[k].value;
      }
      p.nopts = uint32_t(s.opts.size());
      if (s.state == SOCKET_PAIR && s.peer_ino) {
        for (size_t k = 0; k < img.sockets.size(); k++)
          if (img.sockets[k].ino == s.peer_ino) p.peer = uint32_t(k + 1);
        // A peer held by another process makes both ends job objects (job_objects.cc): passed
        // at restart. Only checkRestorable, which sees one image, gets here without them.
      }
      p.first_run = uint32_t(runs.size());
      const uint64_t total = add_stream_runs(s.runs, s.bytes, at, "bytes queued", runs, refuse);
      // (a bound UNIX datagram socket with queued datagrams is made and refilled by the agent)
      const bool unix_dgram_server = s.type == 2 /* SOCK_DGRAM, UNIX or UDP */ && s.state == SOCKET_BOUND;
      if (total && s.state != SOCKET_PAIR && !p.passed && !unix_dgram_server) refuse(at + ": queued data on a socket that is not connected");
      p.nruns = uint32_t(runs.size() - p.first_run);
      socks.push_back(p);
    }
  }

  void add_fd(const ProcessImage &img, const FdImage &f, plan_fd &p, StringTable &strings,
              const std::function<void(const std::string &)> &refuse) {
    const std::string at = "fd " + std::to_string(f.fd) + (f.path.empty() ? "" : " (" + f.path + ")");
    p.flags = f.flags & uint32_t(O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_LARGEFILE | O_NOATIME | O_SYNC | O_DSYNC);
    switch (f.kind) {
      case FD_EVENTFD:
        p.kind = PFD_EVENTFD;
        p.count = f.eventfd_count;
        p.tflags = f.eventfd_semaphore ? 1 : 0;
        if (f.eventfd_count == ~uint64_t(0)) refuse(at + ": eventfd counter out of range");
        break;
      case FD_TIMERFD: {
        p.kind = PFD_TIMERFD;
        p.clockid = f.timerfd_clockid;
        p.count = f.timerfd_ticks;
        p.interval_ns = uint64_t(f.timerfd_interval_ns);
        p.value_ns = uint64_t(f.timerfd_value_ns);
        const uint32_t abs = 1, cancel = 2;   // TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET
        // The job's monotonic and boottime clocks continue across the restart (time namespace):
        // time left is what matters. The real-time clock does not: an absolute real-time timer
        // keeps its absolute expiry (and CANCEL_ON_SET).
        const bool realtime = f.timerfd_clockid == 0 || f.timerfd_clockid == 8;
        if ((f.timerfd_settime_flags & abs) && realtime && f.timerfd_value_ns > 0) {
          p.tflags = f.timerfd_settime_flags & (abs | cancel);
          p.value_ns = uint64_t(img.clocks.realtime_ns + f.timerfd_value_ns);
        }
        if (f.timerfd_value_ns < 0 || f.timerfd_interval_ns < 0) refuse(at + ": negative timer values");
        // A periodic timer that expired and was not read yet shows 0 time left (the kernel
        // forwards it only on read): it is due now, so it fires at once and that expiry
        // stands for one of the saved ones.
        if (f.timerfd_value_ns == 0 && f.timerfd_interval_ns > 0 && f.timerfd_ticks > 0) {
          p.value_ns = 1;
          p.count = f.timerfd_ticks - 1;
        }
        break;
      }
      case FD_SIGNALFD:
        p.kind = PFD_SIGNALFD;
        p.sigmask = f.signalfd_mask;
        break;
      case FD_EPOLL:
        p.kind = PFD_EPOLL;
        p.first_sub = uint32_t(eps.size());
        for (const EpollTarget &t : f.epoll_targets) {
          bool known = false;
          for (const FdImage &g : img.fds) known |= g.fd == t.tfd && g.fd != f.fd;
          if (!known) refuse(at + ": watches fd " + std::to_string(t.tfd) + ", which is not a restorable descriptor of the image");
          eps.push_back(plan_epoll{t.tfd, t.events, t.data});
        }
        p.nsub = uint32_t(eps.size() - p.first_sub);
        break;
      case FD_INOTIFY: {
        p.kind = PFD_INOTIFY;
        p.first_sub = uint32_t(watches.size());
        int32_t prev = 0;
        for (const InotifyWatch &w : f.inotify_watches) {
          if (w.wd <= prev) refuse(at + ": inotify watch descriptors out of order");
          if (w.path.empty() || w.path[0] != '/') refuse(at + ": inotify watch " + std::to_string(w.wd) + " has no path");
          prev = w.wd;
          watches.push_back(plan_watch{w.wd, w.mask, strings.add(w.path), 0});
        }
        p.nsub = uint32_t(watches.size() - p.first_sub);
        break;
      }
      case FD_SHARED_FILE:
        if (f.shared_file < 1 || f.shared_file > img.shared_files.size()) refuse(at + ": no saved contents for it");
        p.kind = PFD_SHARED_FILE;
        p.shm = f.shared_file;
        p.pos = f.pos;
        break;
      case FD_PIPE:
        if (f.pipe < 1 || f.pipe > img.pipes.size()) refuse(at + ": its pipe is not in the image");
        p.kind = PFD_PIPE;
        p.pipe = f.pipe;
        break;
      case FD_SOCKET:
        if (f.socket < 1 || f.socket > socks.size()) refuse(at + ": its socket is not in the image");
        if (socks[f.socket - 1].passed) refuse(at + ": its socket is made by the agent, but this descriptor is not passed");
        p.kind = PFD_SOCKET;
        p.sock = f.socket;
        break;
      case FD_PTY:
        refuse(at + ": a pseudo-terminal is made by the agent, but this descriptor is not passed");
        break;
      default: refuse(at + ": unknown descriptor kind " + std::to_string(f.kind));
    }
  }

  void add_locks(const FdImage &f, plan_fd &p) {
    p.first_lock = uint32_t(locks.size());
    for (const FileLock &l : f.locks) locks.push_back(plan_lock{uint32_t(l.kind), l.write ? 1u : 0u, l.start, l.len});
    p.nlocks = uint32_t(locks.size() - p.first_lock);
  }

  // Places the tables at off (8-aligned) and returns the end.
  uint64_t layout(plan_hdr &h, uint64_t off) {
    h.nshm = uint32_t(shms.size());
    h.nep = uint32_t(eps.size());
    h.nwatch = uint32_t(watches.size());
    h.nlocks = uint32_t(locks.size());
    h.npipes = uint32_t(pipes.size());
    h.nsock = uint32_t(socks.size());
    h.shm_off = off = align8(off);
    h.ep_off = off = align8(off + shms.size() * sizeof(plan_shm));
    h.watch_off = off = align8(off + eps.size() * sizeof(plan_epoll));
    h.lock_off = off = align8(off + watches.size() * sizeof(plan_watch));
    h.pipe_off = off = align8(off + locks.size() * sizeof(plan_lock));
    h.sock_off = off = align8(off + pipes.size() * sizeof(plan_pipe));
    return align8(off + socks.size() * sizeof(plan_socket));
  }

  void copy(const plan_hdr &h, std::vector<uint8_t> &out) const {
    if (!shms.empty()) memcpy(out.data() + h.shm_off, shms.data(), shms.size() * sizeof(plan_shm));
    if (!eps.empty()) memcpy(out.data() + h.ep_off, eps.data(), eps.size() * sizeof(plan_epoll));
    if (!watches.empty()) memcpy(out.data() + h.watch_off, watches.data(), watches.size() * sizeof(plan_watch));
    if (!locks.empty()) memcpy(out.data() + h.lock_off, locks.data(), locks.size() * sizeof(plan_lock));
    if (!pipes.empty()) memcpy(out.data() + h.pipe_off, pipes.data(), pipes.size() * sizeof(plan_pipe));
    if (!socks.empty()) memcpy(out.data() + h.sock_off, socks.data(), socks.size() * sizeof(plan_socket));
  }
};

}  // namespace

uint32_t pass_floor_for(int32_t max_fd, uint32_t npassed) {
  int64_t f = std::max<int64_t>(int64_t(max_fd) + 1, int64_t(RFD_PASSED) + npassed);
  return uint32_t((f + 63) & ~int64_t(63));
}

std::vector<uint8_t> build_plan(const ProcessImage &img, const PassMap &pass, bool check_pages) {
  const std::string who = "pid " + std::to_string(img.ns_pid) + " (" + img.comm + ")";
  auto refuse = [&who](const std::string &what) { refuse_plan(who, what); };

  if (img.format_version != kImageFormatVersion)
    refuse("image format version " + std::to_string(img.format_version) + " (this cairn reads " +
           std::to_string(kImageFormatVersion) + ")");
  if (img.ns_pid < 1) refuse("no pid in the image");
  if (img.threads.empty() || img.threads.size() > PLAN_MAX_THREADS)
    refuse(std::to_string(img.threads.size()) + " threads (1.." + std::to_string(PLAN_MAX_THREADS) + " supported)");
  if (img.threads[0].tid != img.ns_pid) refuse("the first thread is not the main thread");

  plan_hdr h;
  memset(&h, 0, sizeof h);
  StringTable strings;
  std::vector<plan_thread> threads;
  std::vector<plan_vma> vmas;
  std::vector<plan_run> runs;
  std::vector<uint32_t> crcs;   // the page crcs of checked runs (plan_run.crc_first)
  std::vector<plan_fd> fds;
  FdTables fdt;   // descriptor kinds, shared files, locks
  fdt.add_shared_files(img, pass.by_shm, runs, strings, refuse);
  fdt.add_pipes(img, pass.by_fd, runs, strings, refuse);
  fdt.add_sockets(img, pass, runs, refuse);

  std::map<int32_t, bool> seen_tid;
  for (const ThreadImage &t : img.threads) {
    if (t.tid < 1 || seen_tid[t.tid]) refuse("bad or repeated thread id " + std::to_string(t.tid));
    seen_tid[t.tid] = true;
    if (t.regs.size() != sizeof(user_regs_struct))
      refuse("thread " + std::to_string(t.tid) + ": registers of " + std::to_string(t.regs.size()) + " bytes");
    plan_thread p;
    memset(&p, 0, sizeof p);
    p.tid = t.tid;
    p.clear_child_tid = t.clear_child_tid;
    p.robust_list = t.robust_list;
    p.robust_list_len = t.robust_list_len;
    p.rseq_ptr = t.rseq_ptr;
    p.rseq_len = t.rseq_len;
    p.rseq_sig = t.rseq_sig;
    p.altstack_sp = t.altstack_sp;
    p.altstack_size = t.altstack_size;
    p.altstack_flags = t.altstack_flags;
    threads.push_back(p);
  }

  // Memory. The special mappings are not VMAs of the plan: the restorer moves this kernel's.
  const SpecialMappings &sp = img.special;
  auto in_special = [&](uint64_t s, uint64_t e) {
    auto hit = [&](uint64_t a, uint64_t b) { return a && s < b && a < e; };
    return hit(sp.vvar_start, sp.vvar_end) || hit(sp.vvar_vclock_start, sp.vvar_vclock_end) ||
           hit(sp.vdso_start, sp.vdso_end);
  };
  uint64_t prev_end = 0;
  for (const VmaImage &v : img.vmas) {
    const std::string at = "memory " + hex(v.start) + "-" + hex(v.end) + (v.path.empty() ? "" : " (" + v.path + ")");
    if (v.start >= v.end || (v.start | v.end) % kPage || v.end > kUserTop) refuse(at + ": not a valid mapping");
    if (v.start < prev_end) refuse(at + ": overlaps the mapping before it");
    prev_end = v.end;
    if (v.end > RESTORER_BASE && v.start < RESTORER_BASE + RESTORER_SPAN)
      refuse(at + ": lies where cairn's restorer runs (" + hex(RESTORER_BASE) + "-" +
             hex(RESTORER_BASE + RESTORER_SPAN) + ")");
    if (in_special(v.start, v.end)) refuse(at + ": overlaps [vvar]/[vdso]");
    if (v.prot & ~uint32_t(PROT_READ | PROT_WRITE | PROT_EXEC)) refuse(at + ": unknown protection bits");
    plan_vma p;
    memset(&p, 0, sizeof p);
    p.start = v.start;
    p.end = v.end;
    p.prot = v.prot;
    p.pgoff = v.pgoff;
    switch (v.kind) {
      case VMA_ANON: p.kind = PVMA_ANON; break;
      case VMA_STACK: p.kind = PVMA_STACK; break;
      case VMA_FILE_PRIVATE:
      case VMA_FILE_SHARED:
        p.kind = v.kind == VMA_FILE_PRIVATE ? PVMA_FILE_PRIVATE : PVMA_FILE_SHARED;
        if (v.path.empty() || v.path[0] != '/') refuse(at + ": file mapping without a path");
        if (ends_with(v.path, " (deleted)")) refuse(at + ": the mapped file was deleted");
        if (v.pgoff % kPage) refuse(at + ": file offset not page aligned");
        p.path = strings.add(v.path);
        break;
      case VMA_SHARED_FILE:
        if (v.shared_file < 1 || v.shared_file > img.shared_files.size()) refuse(at + ": no saved contents for it");
        if (v.pgoff % kPage) refuse(at + ": file offset not page aligned");
        p.kind = PVMA_SHARED_FILE;
        p.shm = v.shared_file;
        break;
      case VMA_SYSV_SHM:
        // shmat maps a segment from its start: a part of one (munmap/mremap of a piece) is not.
        if (v.pgoff) refuse(at + ": only part of the SysV shm segment id " + std::to_string(v.sysv_shmid) + " is mapped");
        p.kind = PVMA_SYSV_SHM;
        p.shmid = v.sysv_shmid;
        p.path = strings.add(v.path);
        break;
      default: refuse(at + ": unknown mapping kind " + std::to_string(v.kind));
    }
    if (v.flags & ~kVmaFlagsAll) refuse(at + ": unknown mapping flags " + hex(v.flags));
    if ((v.flags & kVmaWipeonfork) && v.kind != VMA_ANON && v.kind != VMA_STACK)
      refuse(at + ": MADV_WIPEONFORK on memory that is not private anonymous");
    if ((v.flags & kVmaSysvRmid) && v.kind != VMA_SYSV_SHM) refuse(at + ": SHM_DEST flag on memory that is not SysV shm");
    if ((v.flags & kVmaGrowsdown) && (v.kind == VMA_FILE_SHARED || v.kind == VMA_SHARED_FILE || v.kind == VMA_SYSV_SHM))
      refuse(at + ": a shared mapping that grows down");
    p.flags = v.flags;
    // A shared file mapping's content is the file itself: its pages are never written back.
    if (v.kind != VMA_FILE_SHARED && v.kind != VMA_SYSV_SHM) {
      p.first_run = uint32_t(runs.size());
      uint64_t prev = v.start;
      for (const PageRun &r : v.runs) {
        if (r.len == 0 || (r.addr | r.len) % kPage || r.addr < prev || r.addr + r.len > v.end)
          refuse(at + ": page run " + hex(r.addr) + "+" + hex(r.len) + " out of order or outside the mapping");
        // A run in an older image is placed at restore (assemble_pages), before the plan is built.
        if (r.offset < kPageDataOffset && r.file.empty()) refuse(at + ": page run at image offset " + std::to_string(r.offset));
        prev = r.addr + r.len;
        runs.push_back(plan_run{r.addr, r.len, r.offset, check_pages ? crcs.size() : PLAN_NO_CRC});
        if (check_pages) crcs.insert(crcs.end(), r.page_crcs.begin(), r.page_crcs.end());
      }
      p.nruns = uint32_t(runs.size() - p.first_run);
    }
    vmas.push_back(p);
  }

  // Descriptors, in fd order: a later descriptor of an open file description already made
  // is a dup of the first one (same offset, same flags); one shared with other processes is
  // passed by the agent.
  int32_t max_fd = -1;
  std::map<int32_t, bool> seen_fd;
  std::map<uint32_t, int32_t> first_of_ofd;
  for (const FdImage &f : img.fds)
    if (f.fd < 0 || (!seen_fd.empty() && f.fd <= seen_fd.rbegin()->first)) refuse("descriptors out of order in the image");
    else seen_fd[f.fd] = true;
  const uint32_t npassed = std::max<uint32_t>(pass.npassed, uint32_t(pass.inherited.size()));
  for (const FdImage &f : img.fds) {
    const std::string at = "fd " + std::to_string(f.fd) + (f.path.empty() ? "" : " (" + f.path + ")");
    plan_fd p;
    memset(&p, 0, sizeof p);
    p.fd = f.fd;
    p.cloexec = f.cloexec ? 1 : 0;
    p.passed_index = -1;
    // Reopening must neither create nor truncate anything.
    p.flags = f.flags & ~uint32_t(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_DIRECTORY);
    auto passed = pass.by_fd.find(f.fd);
    auto earlier = f.ofd ? first_of_ofd.find(f.ofd) : first_of_ofd.end();
    if (passed != pass.by_fd.end()) {
      if (passed->second < 0 || uint32_t(passed->second) >= npassed) refuse(at + ": passed descriptor out of range");
      p.kind = PFD_PASSED;
      p.passed_index = passed->second;
      p.flags = 0;
    } else if (earlier != first_of_ofd.end()) {
      p.kind = PFD_DUP;
      p.dup_of = earlier->second;
      p.flags = 0;
    } else switch (f.kind) {
      case FD_FILE:
      case FD_DEVNULL:
      case FD_DIRECTORY:
        if (f.path.empty() || f.path[0] != '/') refuse(at + ": no path to reopen");
        if (ends_with(f.path, " (deleted)")) refuse(at + ": the file was deleted");
        p.kind = f.kind == FD_FILE ? PFD_FILE : f.kind == FD_DEVNULL ? PFD_DEVNULL : PFD_DIRECTORY;
        p.path = strings.add(f.path);
        // A directory's position too: a readdir the checkpoint cut in two goes on where it
        // was, rather than listing the directory again from its start.
        p.pos = f.kind == FD_DEVNULL ? 0 : f.pos;
        break;
      case FD_INHERITED: {
        int k = f.inherited_index < pass.inherited.size() ? pass.inherited[f.inherited_index] : -1;
        if (k < 0 || uint32_t(k) >= npassed)
          refuse(at + ": was the launcher's stdio " + std::to_string(f.inherited_index) +
                 ", and no descriptor was passed for it");
        p.kind = PFD_PASSED;
        p.passed_index = k;
        p.flags = 0;
        break;
      }
      default: fdt.add_fd(img, f, p, strings, refuse);
    }
    if (f.ofd && earlier == first_of_ofd.end()) first_of_ofd[f.ofd] = f.fd;
    if (f.fd > max_fd) max_fd = f.fd;
    fdt.add_locks(f, p);
    fds.push_back(p);
  }
  // Passed descriptors sit right above every descriptor of every process of the job; the
  // restorer's own (plan, image, log, shared files, pipes) go above those.
  h.pass_floor = pass.pass_floor ? pass.pass_floor : pass_floor_for(max_fd, npassed);
  if (int64_t(h.pass_floor) <= max_fd || h.pass_floor < RFD_PASSED + npassed) refuse("passed descriptors would overlap its own");
  h.npassed = npassed;
  h.fd_floor = h.pass_floor + npassed;

  // Process-wide state.
  h.magic = PLAN_MAGIC;
  h.version = PLAN_VERSION;
  h.pid = img.ns_pid;
  const MmState &m = img.mm;
  const uint64_t mm[MM_NFIELDS] = {m.start_code, m.end_code,    m.start_data, m.end_data,
                                   m.start_brk,  m.brk,         m.start_stack, m.arg_start,
                                   m.arg_end,    m.env_start,   m.env_end};
  memcpy(h.mm, mm, sizeof mm);
  if (!m.start_code || !m.start_stack || m.brk < m.start_brk || m.arg_end < m.arg_start || m.env_end < m.env_start)
    refuse("inconsistent mm fields (code/stack/brk/args/env) in the image");
  if (img.auxv.size() % 8 || img.auxv.size() > sizeof h.auxv)
    refuse("auxv of " + std::to_string(img.auxv.size()) + " bytes");
  memcpy(h.auxv, img.auxv.data(), img.auxv.size());
  h.auxv_bytes = uint32_t(img.auxv.size());
  h.umask = img.umask & 0777;
  h.vvar_start = sp.vvar_start;
  h.vvar_end = sp.vvar_end;
  h.vclock_start = sp.vvar_vclock_start;
  h.vclock_end = sp.vvar_vclock_end;
  h.vdso_start = sp.vdso_start;
  h.vdso_end = sp.vdso_end;
  for (const SigActionImage &s : img.sigactions) {
    if (s.sig < 1 || s.sig > 64) refuse("sigaction for signal " + std::to_string(s.sig));
    if (s.sig == SIGKILL || s.sig == SIGSTOP) continue;   // cannot be anything but SIG_DFL
    plan_sigaction &a = h.sa[s.sig];
    a.handler = s.handler;
    a.flags = s.flags;
    a.restorer = s.restorer;
    a.mask = s.mask;
    a.valid = 1;
  }
  strncpy(h.comm, img.comm.c_str(), sizeof h.comm - 1);
  if (img.exe.empty() || img.exe[0] != '/') refuse("no executable path in the image");
  if (ends_with(img.exe, " (deleted)")) refuse("its executable " + img.exe + " was deleted");
  h.exe = strings.add(img.exe);
  if (!img.cwd.empty() && ends_with(img.cwd, " (deleted)")) refuse("its working directory " + img.cwd + " was deleted");
  h.cwd = strings.add(img.cwd);
  strncpy(h.hostname, img.hostname.c_str(), sizeof h.hostname - 1);
  std::vector<plan_sig> sigs;
  std::vector<plan_timer> timers;
  plan_process_state(img, h, threads, sigs, timers, refuse);

  // Layout: header, threads, vmas, runs, fds, strings (each table 8-aligned).
  h.nthreads = uint32_t(threads.size());
  h.nvmas = uint32_t(vmas.size());
  h.nruns = uint32_t(runs.size());
  h.nfds = uint32_t(fds.size());
  uint64_t off = align8(sizeof h);
  h.thr_off = off;
  off = align8(off + threads.size() * sizeof(plan_thread));
  h.vma_off = off;
  off = align8(off + vmas.size() * sizeof(plan_vma));
  h.run_off = off;
  off = align8(off + runs.size() * sizeof(plan_run));
  h.fd_off = off;
  off = align8(off + fds.size() * sizeof(plan_fd));
  off = fdt.layout(h, off);
  h.sig_off = off;
  off = align8(off + sigs.size() * sizeof(plan_sig));
  h.timer_off = off;
  off = align8(off + timers.size() * sizeof(plan_timer));
  h.crc_off = off;
  h.ncrcs = uint32_t(crcs.size());
  off = align8(off + crcs.size() * sizeof(uint32_t));
  h.str_off = off;
  off += strings.bytes().size();
  if (off > 0x40000000ULL) refuse("restore plan of " + std::to_string(off) + " bytes (too many mappings)");
  h.total_size = uint32_t(off);

  std::vector<uint8_t> out(off, 0);
  memcpy(out.data(), &h, sizeof h);
  if (!threads.empty()) memcpy(out.data() + h.thr_off, threads.data(), threads.size() * sizeof(plan_thread));
  if (!vmas.empty()) memcpy(out.data() + h.vma_off, vmas.data(), vmas.size() * sizeof(plan_vma));
  if (!runs.empty()) memcpy(out.data() + h.run_off, runs.data(), runs.size() * sizeof(plan_run));
  if (!fds.empty()) memcpy(out.data() + h.fd_off, fds.data(), fds.size() * sizeof(plan_fd));
  fdt.copy(h, out);
  if (!sigs.empty()) memcpy(out.data() + h.sig_off, sigs.data(), sigs.size() * sizeof(plan_sig));
  if (!timers.empty()) memcpy(out.data() + h.timer_off, timers.data(), timers.size() * sizeof(plan_timer));
  if (!crcs.empty()) memcpy(out.data() + h.crc_off, crcs.data(), crcs.size() * sizeof(uint32_t));
  memcpy(out.data() + h.str_off, strings.bytes().data(), strings.bytes().size());
  return out;
}

}  // namespace cairn
