// Threads of a traced process: freeze/thaw, registers, syscall injection (engine thread only).
#include "threads.h"
#include "monotonic.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
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
#include <set>
#include <stdexcept>

#include "process.h"

namespace cairn {

namespace {

constexpr long kERestartSys = 512, kERestartNoIntr = 513, kERestartNoHand = 514, kERestartRestartBlock = 516;

// Blocking waitpid on one traced tid with a deadline (WNOHANG + short sleeps, growing).
// Returns the pid, 0 on timeout, -errno.
pid_t wait_tid(pid_t tid, int *st, int timeout_ms) {
  const int64_t deadline = mono_us() + int64_t(timeout_ms) * 1000;
  long nap = 20;
  for (;;) {
    pid_t r = waitpid(tid, st, __WALL | WNOHANG);
    if (r != 0) return r < 0 ? -errno : r;
    if (mono_us() >= deadline) return 0;
    sleep_us(nap);
    nap = std::min(nap * 2, 2000L);
  }
}

}  // namespace

void fixup_restart(user_regs_struct &r) {
  if (long(r.orig_rax) >= 0) {
    long rax = long(r.rax);
    if (rax == -kERestartSys || rax == -kERestartNoIntr || rax == -kERestartNoHand) {
      r.rip -= 2;   // back onto the `syscall` instruction
      r.rax = r.orig_rax;
    } else if (rax == -kERestartRestartBlock) {
      r.rip -= 2;
      r.rax = SYS_restart_syscall;
    }
  }
  r.orig_rax = uint64_t(-1);
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
  for (auto it = tids.rbegin(); it != tids.rend(); ++it) {
    if (ptrace(PTRACE_DETACH, *it, 0, 0) == 0) continue;
    for (int i = 0; i < 5000; i++) {
      int st;
      pid_t r = waitpid(*it, &st, __WALL | WNOHANG);
      if (r < 0) break;                                   // not ours (any more): nothing to reap
      if (r == *it && (WIFEXITED(st) || WIFSIGNALED(st))) break;
      if (r == *it && WIFSTOPPED(st) && ptrace(PTRACE_DETACH, *it, 0, 0) == 0) break;
      usleep(1000);
    }
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
        if (e == EPERM)
          fail("cannot trace thread " + std::to_string(t) +
               ": permission denied (an executable you cannot read, a setuid program, or another tracer)");
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
