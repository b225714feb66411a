// Threads of a traced process: freeze/thaw, registers, syscall injection (engine thread only).
#include "threads.h"
#include "monotonic.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "process.h"

namespace cairn {

namespace {

constexpr long kERestartSys = 512, kERestartNoIntr = 513, kERestartNoHand = 514, kERestartRestartBlock = 516;

// Blocking waitpid on one traced tid with a deadline (WNOHANG + short sleeps, growing).
// Returns the pid, 0 on timeout, -errno.
pid_t wait_tid(pid_t tid, int *st, int timeout_ms) {
  const int64_t start = mono_us(), deadline = start + int64_t(timeout_ms) * 1000;
  long nap = 20;
  for (;;) {
    pid_t r = waitpid(tid, st, __WALL | WNOHANG);
    if (r != 0) return r < 0 ? -errno : r;
    const int64_t now = mono_us();
    if (now >= deadline) return 0;
    // A stop that follows our own ptrace request (an injected syscall's entry and exit) comes
    // within microseconds: yielding, not sleeping, lets the tracee run (it may be queued on
    // this CPU) and sees its stop at once. A sleep costs ~60 us at least, and a checkpoint
    // makes some 20 injections per process.
    if (now - start < 500) {
      sched_yield();
      continue;
    }
    sleep_us(nap);
    nap = std::min(nap * 2, 2000L);
  }
}

// The calls that leave their deadline in the kernel's restart block (-ERESTART_RESTARTBLOCK)
// and can be run again from their arguments, which the syscall left in the registers.
bool reexecutable(const user_regs_struct &r) {
  switch (long(r.orig_rax)) {
    case SYS_nanosleep:
    case SYS_clock_nanosleep:
    case SYS_poll:
      return true;
    case SYS_futex: {
      const long cmd = long(r.rsi) & FUTEX_CMD_MASK;
      return cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET;
    }
    default:
      return false;
  }
}

// What a thread left in restart_syscall was running: noted at a freeze that found it
// interrupted in that call (the kernel then resumes it through restart_syscall, whose restart
// block a restored thread does not have). Engine thread only.
struct RestartedCall {
  long nr;
  uint64_t rip, rdi, rsi, rdx, r10;
};
std::map<pid_t, RestartedCall> restarted_calls;

}  // namespace

void note_restart(pid_t tid, const user_regs_struct &r) {
  if (long(r.rax) != -kERestartRestartBlock) {
    restarted_calls.erase(tid);
    return;
  }
  if (long(r.orig_rax) == SYS_restart_syscall) return;   // the same call, restarted again
  restarted_calls[tid] = RestartedCall{long(r.orig_rax), r.rip, r.rdi, r.rsi, r.rdx, r.r10};
}

long restarted_call(pid_t tid, const user_regs_struct &r) {
  if (long(r.orig_rax) != SYS_restart_syscall) return long(r.orig_rax);
  auto it = restarted_calls.find(tid);
  // Same syscall instruction, same arguments: the call it was (its wrapper's registers).
  if (it == restarted_calls.end() || it->second.rip != r.rip || it->second.rdi != r.rdi || it->second.rsi != r.rsi ||
      it->second.rdx != r.rdx || it->second.r10 != r.r10)
    return SYS_restart_syscall;
  return it->second.nr;
}

void fixup_restart(user_regs_struct &r, bool restored) {
  if (long(r.orig_rax) >= 0) {
    long rax = long(r.rax);
    if (rax == -kERestartSys || rax == -kERestartNoIntr || rax == -kERestartNoHand) {
      r.rip -= 2;   // back onto the `syscall` instruction
      r.rax = r.orig_rax;
    } else if (rax == -kERestartRestartBlock) {
      r.rip -= 2;
      // A restored thread has an empty restart block: restart_syscall would return EINTR.
      // Run the call again instead: an absolute deadline is kept exactly (the job's clocks
      // continue); a relative timeout is read again from memory, exact where the kernel wrote
      // the remainder back at the freeze, else whole: late, never early (see ENGINE.md).
      r.rax = restored && reexecutable(r) ? r.orig_rax : uint64_t(SYS_restart_syscall);
    }
  }
  r.orig_rax = uint64_t(-1);
}

int restop(pid_t tid, const user_regs_struct &r) {
  if (int e = set_regs(tid, r)) return e;
  if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0 || ptrace(PTRACE_CONT, tid, 0, 0) < 0) return -errno;
  return wait_for_stop(tid, 10000);
}

int get_regs(pid_t tid, user_regs_struct &r) {
  iovec io = {&r, sizeof r};
  return ptrace(PTRACE_GETREGSET, tid, NT_PRSTATUS, &io) < 0 ? -errno : 0;
}

int set_regs(pid_t tid, const user_regs_struct &r) {
  iovec io = {const_cast<user_regs_struct *>(&r), sizeof r};
  return ptrace(PTRACE_SETREGSET, tid, NT_PRSTATUS, &io) < 0 ? -errno : 0;
}

std::vector<uint8_t> get_xstate(pid_t tid) {
  // The kernel trims iov_len to the real size (2440 bytes here with PKRU; AMX is ~11 KiB).
  std::vector<uint8_t> buf(64 * 1024);
  iovec io = {buf.data(), buf.size()};
  if (ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE, &io) < 0)
    throw std::runtime_error("thread " + std::to_string(tid) + ": cannot read xstate: " + errno_str(errno));
  buf.resize(io.iov_len);
  return buf;
}

uint64_t find_syscall_insn(pid_t pid, uint64_t start, uint64_t end) {
  if (end <= start || end - start > (64u << 20)) return 0;
  std::vector<uint8_t> b(end - start);
  iovec l = {b.data(), b.size()}, r = {reinterpret_cast<void *>(start), b.size()};
  if (process_vm_readv(pid, &l, 1, &r, 1, 0) != ssize_t(b.size())) return 0;
  for (size_t i = 0; i + 1 < b.size(); i++)
    if (b[i] == 0x0f && b[i + 1] == 0x05) return start + i;
  return 0;
}

long inject_syscall(pid_t tid, const user_regs_struct &base, uint64_t insn, long nr, long a1, long a2, long a3,
                    long a4, long a5, long a6) {
  user_regs_struct r = base;
  r.rip = insn;
  r.rax = uint64_t(nr);
  r.orig_rax = uint64_t(-1);   // no syscall-restart fix-up by the kernel on our way in
  r.rdi = uint64_t(a1);
  r.rsi = uint64_t(a2);
  r.rdx = uint64_t(a3);
  r.r10 = uint64_t(a4);
  r.r8 = uint64_t(a5);
  r.r9 = uint64_t(a6);
  std::string what = "thread " + std::to_string(tid) + ": injected syscall " + std::to_string(nr);
  if (int e = set_regs(tid, r)) throw std::runtime_error(what + ": set registers: " + errno_str(-e));
  // Two syscall stops: entry, then exit. Signals are blocked by the caller meanwhile, so
  // no signal-delivery stop can come in between.
  for (int k = 0; k < 2; k++) {
    if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0) throw std::runtime_error(what + ": PTRACE_SYSCALL: " + errno_str(errno));
    int st = 0;
    pid_t w = wait_tid(tid, &st, 10000);
    if (w == 0) throw std::runtime_error(what + ": no syscall stop within 10 s");
    if (w < 0) throw std::runtime_error(what + ": waitpid: " + errno_str(-w));
    if (!WIFSTOPPED(st)) throw std::runtime_error(what + ": thread died (status " + std::to_string(st) + ")");
    if (WSTOPSIG(st) != (SIGTRAP | 0x80)) {
      char buf[64];
      snprintf(buf, sizeof buf, "unexpected stop 0x%x", st);
      throw std::runtime_error(what + ": " + buf);
    }
  }
  if (int e = get_regs(tid, r)) throw std::runtime_error(what + ": get registers: " + errno_str(-e));
  return long(r.rax);
}

std::vector<pid_t> list_threads(pid_t pid) {
  std::vector<pid_t> out;
  std::string p = "/proc/" + std::to_string(pid) + "/task";
  DIR *d = opendir(p.c_str());
  if (!d) return out;
  while (dirent *e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    pid_t t = pid_t(atoi(e->d_name));
    if (t == pid)
      out.insert(out.begin(), t);
    else
      out.push_back(t);
  }
  closedir(d);
  // Leader first, then in tid order, so the image is stable from dump to dump.
  if (out.size() > 1) std::sort(out.begin() + (out[0] == pid ? 1 : 0), out.end());
  return out;
}

pid_t ns_tid_of(pid_t host_tid) {
  std::string s;
  if (!read_text("/proc/" + std::to_string(host_tid) + "/status", s)) return -1;
  size_t p = s.find("\nNSpid:");
  if (p == std::string::npos) return -1;
  const char *q = s.c_str() + p + 7;
  pid_t res = -1;
  for (;;) {
    char *e;
    long v = strtol(q, &e, 10);
    if (e == q) break;
    res = pid_t(v);
    q = e;
    if (*q == '\n') break;
  }
  return res;
}

// State letter of one thread from /proc/PID/task/TID/stat, 0 when the thread is gone.
char thread_state(pid_t pid, pid_t tid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *close = strrchr(buf, ')');   // comm may hold spaces and parentheses
  return close && close[1] == ' ' ? close[2] : 0;
}

// The kernel refuses to attach (EPERM) to a thread that has begun to exit. Such a thread is
// about to vanish: wait briefly and tell whether it did (or is a zombie/dead), so a thread
// exiting during the freeze is not mistaken for a forbidden one.
bool exiting_thread(pid_t pid, pid_t tid) {
  for (int i = 0; i < 200; i++) {   // up to ~200 ms
    char st = thread_state(pid, tid);
    if (st == 0 || st == 'Z' || st == 'X') return true;
    sleep_us(1000);
  }
  return false;
}

namespace {

// Why PTRACE_SEIZE of tid said EPERM, told from what /proc still shows its (unprivileged)
// owner: another tracer, other credentials (setuid/setgid), or else an executable the user
// cannot read (the kernel then makes the process non-dumpable for everyone but root).
std::string seize_denied(pid_t pid, pid_t tid) {
  const std::string task = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid);
  const std::string it = tid == pid ? "it" : "its thread " + std::to_string(tid);
  std::string status;
  read_text(task + "/status", status);
  auto field = [&](const char *key) {
    size_t p = status.find(std::string("\n") + key + ":");
    if (p == std::string::npos) return std::string();
    p += strlen(key) + 2;
    size_t e = status.find('\n', p);
    std::string v = status.substr(p, e == std::string::npos ? std::string::npos : e - p);
    std::replace(v.begin(), v.end(), '\t', ' ');
    v.erase(0, v.find_first_not_of(' '));
    return v;
  };
  const pid_t tracer = pid_t(atoi(field("TracerPid").c_str()));
  if (tracer > 0)
    return it + " is already traced by pid " + std::to_string(tracer) + " (" + comm_of(tracer) +
           "), and a process can have only one tracer: detach that debugger or tracer first";
  for (const char *key : {"Uid", "Gid"}) {
    const unsigned mine = key[0] == 'U' ? unsigned(getuid()) : unsigned(getgid());
    const std::string ids = field(key);   // real, effective, saved, filesystem
    const char *q = ids.c_str();
    for (char *e; *q; q = e) {
      unsigned long v = strtoul(q, &e, 10);
      if (e == q) break;
      if (v != mine)
        return it + " runs with another " + (key[0] == 'U' ? "user" : "group") + "'s privileges (" + key + " " + ids +
               ": a setuid or setgid program), which only root may trace";
    }
  }
  // Same user, no tracer: an executable the user cannot read. /proc/PID/exe is closed to us
  // then; argv[0] is the best name left (the program may have changed it).
  std::string exe, cmdline;
  char buf[4096];
  ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf - 1);
  if (n > 0) exe.assign(buf, size_t(n));
  else if (read_text("/proc/" + std::to_string(pid) + "/cmdline", cmdline)) exe = cmdline.c_str();
  if (!exe.empty() && exe[0] == '/' && access(exe.c_str(), R_OK) < 0)
    return "its executable " + exe + " is not readable by you, and the kernel lets only root trace such a process";
  return "permission denied (an executable you cannot read" + (exe.empty() ? std::string() : ", started as " + exe) +
         ", a setuid program, or another tracer)";
}

}  // namespace

int wait_for_stop(pid_t tid, int timeout_ms) {
  const int64_t deadline = mono_us() + int64_t(timeout_ms) * 1000;
  for (;;) {
    int left = int((deadline - mono_us()) / 1000);
    if (left <= 0) return -ETIMEDOUT;
    int st = 0;
    pid_t w = wait_tid(tid, &st, left);
    if (w == 0) return -ETIMEDOUT;
    if (w < 0) return w == -ECHILD ? -ESRCH : w;
    if (WIFEXITED(st) || WIFSIGNALED(st)) return -ESRCH;
    if (!WIFSTOPPED(st)) continue;
    int event = st >> 16, sig = WSTOPSIG(st);
    if (event == PTRACE_EVENT_STOP) return 0;   // the interrupt (or a group stop): stopped
    if (event != 0 || sig == (SIGTRAP | 0x80)) {  // other events: let it go on to the interrupt
      ptrace(PTRACE_CONT, tid, 0, 0);
      continue;
    }
    // A signal-delivery stop came first: deliver it as the kernel would have; the pending
    // interrupt stops the thread right after.
    ptrace(PTRACE_CONT, tid, 0, sig);
  }
}

void detach_threads(const std::vector<pid_t> &tids) {
  // Non-leaders first. A thread that cannot be detached was killed while stopped: its exit
  // is reported to us, the tracer, and must be reaped here, or the job's init could never
  // reap the process (and waitExit would never end).
  // A SIGKILLed tracee leaves its stop and runs to its exit: that takes a moment, so wait
  // for the exit (bounded) rather than look once.
  for (auto it = tids.rbegin(); it != tids.rend(); ++it)
    if (ptrace(PTRACE_DETACH, *it, 0, 0) < 0) reap_tracee(*it, true);
}

void reap_tracee(pid_t t, bool detach) {
  for (int i = 0; i < 5000; i++) {
    int st;
    pid_t r = waitpid(t, &st, __WALL | WNOHANG);
    if (r < 0) return;   // not ours (any more): nothing to reap
    if (r == t && (WIFEXITED(st) || WIFSIGNALED(st))) return;
    if (detach && r == t && WIFSTOPPED(st) && ptrace(PTRACE_DETACH, t, 0, 0) == 0) return;
    usleep(1000);
  }
}

std::vector<pid_t> freeze_threads(pid_t pid) {
  std::vector<pid_t> seized;   // attached and stopped
  std::set<pid_t> known;
  auto fail = [&](const std::string &what) {
    std::string w = who(pid);
    detach_threads(seized);
    throw std::runtime_error(w + ": " + what);
  };
  for (int round = 0;; round++) {
    std::vector<pid_t> now = list_threads(pid);
    if (now.empty() || now[0] != pid) fail("no such process");
    std::vector<pid_t> fresh;
    for (pid_t t : now)
      if (!known.count(t)) fresh.push_back(t);
    if (fresh.empty()) break;   // every thread that exists is stopped: none can create more
    if (round > 1000) fail("thread set does not settle (threads created faster than they can be stopped)");
    std::vector<pid_t> attached;
    for (pid_t t : fresh) {
      known.insert(t);
      if (ptrace(PTRACE_SEIZE, t, 0, PTRACE_O_TRACESYSGOOD) < 0) {
        int e = errno;
        if (e == ESRCH && t != pid) continue;   // a thread that just exited
        if (e == EPERM && t != pid && exiting_thread(pid, t)) continue;   // exiting right now
        detach_threads(attached);
        if (e == EPERM) fail("cannot be checkpointed: " + seize_denied(pid, t));
        fail("PTRACE_SEIZE thread " + std::to_string(t) + ": " + errno_str(e));
      }
      attached.push_back(t);
    }
    for (pid_t t : attached) ptrace(PTRACE_INTERRUPT, t, 0, 0);
    for (pid_t t : attached) {
      int r = wait_for_stop(t, 10000);
      if (r == -ESRCH && t != pid) continue;   // exited before stopping: reaped, gone
      if (r < 0) {
        for (pid_t u : attached)
          if (std::find(seized.begin(), seized.end(), u) == seized.end()) seized.push_back(u);
        fail("thread " + std::to_string(t) + " did not stop: " + errno_str(-r));
      }
      seized.push_back(t);
      user_regs_struct regs;
      if (get_regs(t, regs) == 0) note_restart(t, regs);
    }
  }
  // Leader first, the rest in tid order.
  std::sort(seized.begin(), seized.end(), [pid](pid_t a, pid_t b) {
    if (a == pid || b == pid) return a == pid && b != pid;
    return a < b;
  });
  return seized;
}

}  // namespace cairn
