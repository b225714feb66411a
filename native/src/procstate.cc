// Process-level state: pending signals, interval and POSIX timers, personality, nice, CPU
// affinity, scheduling policy, per-thread comm, no_new_privs, dumpable (see procstate.h).
#include "procstate.h"

#include "injection.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "memory.h"
#include "process.h"
#include "threads.h"

#ifndef PTRACE_PEEKSIGINFO
#define PTRACE_PEEKSIGINFO 0x4209
#endif
#ifndef PTRACE_PEEKSIGINFO_SHARED
#define PTRACE_PEEKSIGINFO_SHARED 1
#endif

namespace cairn {

namespace {

constexpr size_t kSiginfo = 128;

struct PeekArgs {   // struct ptrace_peeksiginfo_args
  uint64_t off;
  uint32_t flags;
  int32_t nr;
};

std::string task_path(pid_t pid, pid_t tid, const char *file) {
  return "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/" + file;
}

// "Key:\tvalue" of a /proc status file.
std::string status_value(const std::string &status, const char *key) {
  std::string k = std::string("\n") + key + ":";
  size_t p = status.find(k);
  if (p == std::string::npos) return std::string();
  p += k.size();
  while (p < status.size() && (status[p] == ' ' || status[p] == '\t')) p++;
  size_t e = status.find('\n', p);
  return status.substr(p, e == std::string::npos ? std::string::npos : e - p);
}

// Every queued siginfo of one pending list (the thread's own, or with `shared` the
// process-wide one), in queue order; then a synthesized SI_USER entry for each pending
// signal that has no queue entry (the kernel could not allocate one: it is still pending).
std::vector<PendingSignal> peek_pending(pid_t pid, pid_t tid, bool shared, uint64_t pending_mask) {
  std::vector<PendingSignal> out;
  uint64_t seen = 0;
  siginfo_t buf[32];
  for (uint64_t off = 0;;) {
    PeekArgs a = {off, shared ? uint32_t(PTRACE_PEEKSIGINFO_SHARED) : 0u, 32};
    long n = ptrace(PTRACE_PEEKSIGINFO, tid, &a, buf);
    if (n < 0)
      fail_pid(pid, "thread " + std::to_string(tid) + ": PTRACE_PEEKSIGINFO" + (shared ? " (shared)" : "") + ": " +
                        errno_str(errno));
    if (n == 0) break;
    for (long i = 0; i < n; i++) {
      PendingSignal s;
      s.sig = buf[i].si_signo;
      const uint8_t *p = reinterpret_cast<const uint8_t *>(&buf[i]);
      s.siginfo.assign(p, p + kSiginfo);
      if (s.sig >= 1 && s.sig <= 64) seen |= 1ULL << (s.sig - 1);
      out.push_back(std::move(s));
    }
    off += uint64_t(n);
  }
  for (int sig = 1; sig <= 64; sig++) {
    if (!(pending_mask & (1ULL << (sig - 1))) || (seen & (1ULL << (sig - 1)))) continue;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = sig;
    si.si_code = SI_USER;
    PendingSignal s;
    s.sig = sig;
    const uint8_t *p = reinterpret_cast<const uint8_t *>(&si);
    s.siginfo.assign(p, p + kSiginfo);
    out.push_back(std::move(s));
  }
  // SIGKILL/SIGSTOP cannot be queued back meaningfully (and a pending SIGKILL means the
  // process is dying anyway). A pending SIGTRAP would take the place of the restorer's
  // int3 trap, where the agent takes over: it is dropped (debuggers are refused anyway).
  std::vector<PendingSignal> keep;
  for (auto &s : out)
    if (s.sig != SIGKILL && s.sig != SIGSTOP && s.sig != SIGTRAP) keep.push_back(std::move(s));
  return keep;
}

uint64_t hexmask(const std::string &status, const char *key) {
  return strtoull(status_value(status, key).c_str(), nullptr, 16);
}

// The leader, stopped by us: one syscall injected with all signals blocked, registers and
// mask put back exactly, and the thread back in its interrupt stop (restop): the dump reads
// its registers after this, and must see the interrupted call as it was.
long inject_once(pid_t pid, pid_t tid, long nr, long a1, long a2) {
  const uint64_t insn = vdso_syscall_insn(pid);
  if (!insn) fail_pid(pid, "no syscall instruction found in its [vdso]");
  long r = 0;
  try {
    with_injection(pid, tid, insn, [&](const Inject &inject, uint64_t) { r = inject(nr, a1, a2, 0, 0); });
  } catch (const std::exception &e) {
    const std::string m = e.what();
    if (m.rfind(who(pid), 0) == 0) throw;   // already names the process
    fail_pid(pid, m);
  }
  return r;
}

int64_t ts_ns(const int64_t *ts) { return ts[0] * 1000000000 + ts[1]; }

// struct sched_attr (SCHED_ATTR_SIZE_VER1); our own: glibc's and the kernel's headers clash.
struct SchedAttr {
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
  uint32_t util_min, util_max;
};
constexpr uint64_t kSchedResetOnFork = 1;   // SCHED_FLAG_RESET_ON_FORK
constexpr uint32_t kSchedDeadline = 6;

}  // namespace

void dump_thread_outside(pid_t pid, pid_t tid, ThreadImage &t) {
  const std::string tw = "thread " + std::to_string(tid);
  std::string status;
  if (!read_text(task_path(pid, tid, "status"), status))
    fail_pid(pid, tw + ": cannot read its status: " + errno_str(errno));
  t.pending = peek_pending(pid, tid, false, hexmask(status, "SigPnd"));
  t.no_new_privs = atoi(status_value(status, "NoNewPrivs").c_str()) != 0;
  uint8_t aff[1024];
  long n = syscall(SYS_sched_getaffinity, tid, sizeof aff, aff);
  if (n < 0) fail_pid(pid, tw + ": sched_getaffinity: " + errno_str(errno));
  t.cpu_affinity.assign(aff, aff + n);
  errno = 0;
  int prio = getpriority(PRIO_PROCESS, id_t(tid));
  if (prio == -1 && errno) fail_pid(pid, tw + ": getpriority: " + errno_str(errno));
  t.nice = prio;
  SchedAttr sa;
  memset(&sa, 0, sizeof sa);
  if (syscall(SYS_sched_getattr, tid, &sa, sizeof sa, 0) < 0) fail_pid(pid, tw + ": sched_getattr: " + errno_str(errno));
  t.sched_policy = sa.policy;
  t.sched_priority = sa.priority;
  t.sched_reset_on_fork = (sa.flags & kSchedResetOnFork) != 0;
  if (read_text(task_path(pid, tid, "comm"), t.comm) && !t.comm.empty() && t.comm.back() == '\n') t.comm.pop_back();
}

void dump_process_injected(pid_t pid, pid_t leader, const InjectFn &inject, const PeekFn &peek, uint64_t scratch,
                           ProcessImage &img) {
  std::string status;
  if (!read_text("/proc/" + std::to_string(pid) + "/status", status))
    throw std::runtime_error("cannot read its status: " + errno_str(errno));
  // Pending signals before the itimers: an ITIMER_REAL expiring in between is then seen as
  // fired (value 0) and fires again at restore, rather than counted twice or lost.
  img.shared_pending = peek_pending(pid, leader, true, hexmask(status, "ShdPnd"));

  long pers = inject(SYS_personality, 0xffffffffL, 0, 0, 0);
  if (pers < 0) throw std::runtime_error("personality = " + std::to_string(pers));
  img.personality = uint32_t(pers);

  for (int which = 0; which < 3; which++) {
    if (long r = inject(SYS_getitimer, which, long(scratch), 0, 0); r != 0)
      throw std::runtime_error("getitimer(" + std::to_string(which) + ") = " + std::to_string(r));
    int64_t v[4];   // struct itimerval: interval {sec, usec}, value {sec, usec}
    if (!peek(scratch, v, sizeof v)) throw std::runtime_error("cannot read back an itimerval");
    // Value 0 with an interval is still armed: a periodic ITIMER_REAL that fired while the
    // process was frozen waits for its SIGALRM to be dequeued before the kernel re-arms it.
    // The plan arms it for 1 us (fires at once, the signal stays pending, the next dequeue
    // re-arms it), as the process would have. Only value and interval 0 is disarmed.
    if (v[0] == 0 && v[1] == 0 && v[2] == 0 && v[3] == 0) continue;
    img.itimers.push_back(Itimer{which, v[2] * 1000000 + v[3], v[0] * 1000000 + v[1]});
  }

  // /proc/PID/timers: "ID: n", "signal: signo/sigval", "notify: kind/pid.N" or
  // "kind/tid.N" (N a pid of the reader's namespace: ours), "ClockID: c".
  std::string timers;
  if (!read_text("/proc/" + std::to_string(pid) + "/timers", timers))
    throw std::runtime_error("cannot read /proc/" + std::to_string(pid) + "/timers: " + errno_str(errno));
  std::map<pid_t, pid_t> ns_of;   // host tid -> job tid
  PosixTimer cur;
  bool have = false;
  auto finish = [&]() {
    if (!have) return;
    if (long r = inject(SYS_timer_gettime, cur.id, long(scratch), 0, 0); r != 0)
      throw std::runtime_error("timer_gettime(" + std::to_string(cur.id) + ") = " + std::to_string(r));
    int64_t its[4];   // struct itimerspec: interval, value
    if (!peek(scratch, its, sizeof its)) throw std::runtime_error("cannot read back an itimerspec");
    cur.interval_ns = ts_ns(its);
    cur.value_ns = ts_ns(its + 2);
    long ov = inject(SYS_timer_getoverrun, cur.id, 0, 0, 0);
    cur.overrun = ov > 0 ? int32_t(ov) : 0;
    img.posix_timers.push_back(cur);
    cur = PosixTimer();
    have = false;
  };
  for (size_t p = 0; p < timers.size();) {
    size_t e = timers.find('\n', p);
    if (e == std::string::npos) e = timers.size();
    std::string line = timers.substr(p, e - p);
    p = e + 1;
    if (line.rfind("ID:", 0) == 0) {
      finish();
      cur.id = atoi(line.c_str() + 3);
      have = true;
    } else if (line.rfind("signal:", 0) == 0) {
      char *q;
      cur.signo = int32_t(strtol(line.c_str() + 7, &q, 10));
      if (*q == '/') cur.sigval = strtoull(q + 1, nullptr, 16);
    } else if (line.rfind("notify:", 0) == 0) {
      std::string v = line.substr(7);
      v.erase(0, v.find_first_not_of(" \t"));
      size_t slash = v.find('/'), dot = v.find('.');
      if (slash == std::string::npos || dot == std::string::npos)
        throw std::runtime_error("cannot parse /proc/" + std::to_string(pid) + "/timers line: " + line);
      std::string kind = v.substr(0, slash), target = v.substr(slash + 1, dot - slash - 1);
      cur.notify = kind == "signal" ? SIGEV_SIGNAL : kind == "none" ? SIGEV_NONE : kind == "thread" ? SIGEV_THREAD : -1;
      if (cur.notify < 0) throw std::runtime_error("POSIX timer " + std::to_string(cur.id) + ": unknown notify " + v);
      if (target == "tid") {
        cur.notify |= SIGEV_THREAD_ID;
        pid_t host = pid_t(atoi(v.c_str() + dot + 1));
        if (!ns_of.count(host)) ns_of[host] = ns_tid_of(host);
        cur.notify_tid = ns_of[host];
        if (cur.notify_tid <= 0)
          throw std::runtime_error("POSIX timer " + std::to_string(cur.id) + " signals thread " +
                                   std::to_string(host) + ", which is gone");
      }
    } else if (line.rfind("ClockID:", 0) == 0) {
      cur.clock = atoi(line.c_str() + 8);
    }
  }
  finish();
}

DumpableGuard::DumpableGuard(pid_t pid, pid_t leader) : pid_(pid), leader_(leader) {
  // A dumpable process's /proc/PID files belong to its owner; a non-dumpable one's to root.
  struct stat st;
  if (stat(("/proc/" + std::to_string(pid) + "/auxv").c_str(), &st) == 0 && st.st_uid == geteuid()) return;
  long d = inject_once(pid, leader, SYS_prctl, PR_GET_DUMPABLE, 0);
  if (d != 0) return;
  long r = inject_once(pid, leader, SYS_prctl, PR_SET_DUMPABLE, 1);
  if (r != 0) fail_pid(pid, "it is not dumpable, and prctl(PR_SET_DUMPABLE, 1) = " + std::to_string(r));
  changed_ = true;
}

DumpableGuard::~DumpableGuard() {
  if (!changed_) return;
  try {
    inject_once(pid_, leader_, SYS_prctl, PR_SET_DUMPABLE, 0);
  } catch (...) {
    // The process may be gone (killed while frozen): nothing left to put back.
  }
}

void plan_process_state(const ProcessImage &img, plan_hdr &h, std::vector<plan_thread> &threads,
                        std::vector<plan_sig> &sigs, std::vector<plan_timer> &timers,
                        const std::function<void(const std::string &)> &refuse) {
  std::map<int32_t, bool> tids;
  auto add_sigs = [&](int32_t tid, const std::vector<PendingSignal> &v) {
    for (const PendingSignal &s : v) {
      const std::string at = "pending signal " + std::to_string(s.sig) + (tid ? " of thread " + std::to_string(tid) : "");
      if (s.sig < 1 || s.sig > 64) refuse(at + ": not a signal number");
      if (s.siginfo.size() > kSiginfo) refuse(at + ": siginfo of " + std::to_string(s.siginfo.size()) + " bytes");
      if (s.sig == SIGKILL || s.sig == SIGSTOP || s.sig == SIGTRAP) continue;   // see peek_pending
      plan_sig p;
      memset(&p, 0, sizeof p);
      p.tid = tid;
      p.sig = s.sig;
      memcpy(p.info, s.siginfo.data(), s.siginfo.size());
      memcpy(p.info, &s.sig, 4);   // si_signo
      sigs.push_back(p);
    }
  };
  for (size_t i = 0; i < img.threads.size() && i < threads.size(); i++) {
    const ThreadImage &t = img.threads[i];
    tids[t.tid] = true;
    strncpy(threads[i].comm, t.comm.c_str(), sizeof threads[i].comm - 1);
    threads[i].no_new_privs = t.no_new_privs ? 1 : 0;
    threads[i].timerslack_ns = t.timerslack_ns;
    add_sigs(t.tid, t.pending);
  }
  add_sigs(0, img.shared_pending);

  std::map<int32_t, bool> ids;
  for (const PosixTimer &t : img.posix_timers) {
    const std::string at = "POSIX timer " + std::to_string(t.id);
    if (t.id < 0 || ids[t.id]) refuse(at + ": bad or repeated timer id");
    ids[t.id] = true;
    const int base = t.notify & ~SIGEV_THREAD_ID;
    if (base != SIGEV_SIGNAL && base != SIGEV_NONE && base != SIGEV_THREAD) refuse(at + ": unknown notify kind");
    if ((t.notify & SIGEV_THREAD_ID) && !tids.count(t.notify_tid))
      refuse(at + ": signals thread " + std::to_string(t.notify_tid) + ", which is not in the image");
    if (base != SIGEV_NONE && (t.signo < 1 || t.signo > 64)) refuse(at + ": signal " + std::to_string(t.signo));
    if (t.value_ns < 0 || t.interval_ns < 0) refuse(at + ": negative time");
    plan_timer p;
    memset(&p, 0, sizeof p);
    p.id = t.id;
    p.clock = t.clock;
    p.signo = t.signo;
    p.notify = t.notify;
    p.notify_tid = t.notify_tid;
    p.sigval = t.sigval;
    p.its[0] = uint64_t(t.interval_ns / 1000000000);
    p.its[1] = uint64_t(t.interval_ns % 1000000000);
    p.its[2] = uint64_t(t.value_ns / 1000000000);
    p.its[3] = uint64_t(t.value_ns % 1000000000);
    timers.push_back(p);
  }
  for (const Itimer &t : img.itimers) {
    if (t.which < 0 || t.which > 2) refuse("interval timer " + std::to_string(t.which) + ": unknown");
    if (t.value_us < 0 || t.interval_us < 0) refuse("interval timer " + std::to_string(t.which) + ": negative time");
    uint64_t *v = h.itimer[t.which];
    v[0] = uint64_t(t.interval_us / 1000000);
    v[1] = uint64_t(t.interval_us % 1000000);
    v[2] = uint64_t(t.value_us / 1000000);
    v[3] = uint64_t(t.value_us % 1000000);
    // Armed (it has an interval) with less than 1 us left: fire right away, not never. A
    // timer with neither value nor interval is disarmed and stays so.
    if (!v[2] && !v[3] && (v[0] || v[1])) v[3] = 1;
  }
  std::sort(timers.begin(), timers.end(), [](const plan_timer &a, const plan_timer &b) { return a.id < b.id; });
  h.nsigs = uint32_t(sigs.size());
  h.ntimers = uint32_t(timers.size());
  h.personality = img.personality;
  h.dumpable = img.non_dumpable ? 0 : 1;
}

void restore_thread_attrs(pid_t host_tid, const ThreadImage &t) {
  const std::string tw = "thread " + std::to_string(t.tid);
  if (setpriority(PRIO_PROCESS, id_t(host_tid), t.nice) < 0) {
    // A nice below the restarter's needs privilege (or RLIMIT_NICE): keep the restarter's.
    if (errno != EACCES && errno != EPERM) throw std::runtime_error(tw + ": setpriority(" + std::to_string(t.nice) + "): " + errno_str(errno));
  }
  if (!t.cpu_affinity.empty() &&
      syscall(SYS_sched_setaffinity, host_tid, t.cpu_affinity.size(), t.cpu_affinity.data()) < 0) {
    // None of its CPUs exists (or is allowed) here: it runs where the restarter may.
    if (errno != EINVAL) throw std::runtime_error(tw + ": sched_setaffinity: " + errno_str(errno));
  }
  // The policy after the nice, with the nice the thread has now: sched_setattr sets both, and
  // a nice we could not give must not cost the policy. SCHED_DEADLINE needs CAP_SYS_NICE,
  // which cairn never has (and its parameters are not saved): the thread keeps the restarter's.
  if (t.sched_policy == kSchedDeadline) return;
  errno = 0;
  int nice_now = getpriority(PRIO_PROCESS, id_t(host_tid));
  if (nice_now == -1 && errno) throw std::runtime_error(tw + ": getpriority: " + errno_str(errno));
  SchedAttr sa;
  memset(&sa, 0, sizeof sa);
  sa.size = sizeof sa;
  sa.policy = t.sched_policy;
  sa.flags = t.sched_reset_on_fork ? kSchedResetOnFork : 0;
  sa.nice = nice_now;
  sa.priority = t.sched_priority;
  if (syscall(SYS_sched_setattr, host_tid, &sa, 0) < 0) {
    // SCHED_FIFO/RR above RLIMIT_RTPRIO, or leaving SCHED_IDLE beyond RLIMIT_NICE, needs
    // privilege; a policy this kernel lacks (SCHED_EXT) is EINVAL: keep the restarter's policy.
    if (errno != EPERM && errno != EINVAL)
      throw std::runtime_error(tw + ": sched_setattr(policy " + std::to_string(t.sched_policy) + "): " + errno_str(errno));
  }
}

}  // namespace cairn
