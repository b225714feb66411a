// Copy-on-write snapshot: while the process is frozen, its leader is made to clone itself
// (injected clone, CLONE_PTRACE so the clone stops before it runs a single instruction and is
// ours). That clone S has the process's memory, copy-on-write. S cannot simply stay: it is
// the process's child, visible to wait(__WALL) and in /proc/PID/task/TID/children. So S forks
// once more (S2, the snapshot) and is killed; S2 is re-parented to the job's PID 1, and the
// process reaps S itself (an injected wait4 of that one pid, WNOHANG). S was made with exit
// signal 0: the process gets no SIGCHLD, and a plain wait() never sees it.
#include "snapshot.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sched.h>

#include <stdexcept>

#include "injection.h"
#include "process.h"
#include "threads.h"

namespace cairn {

namespace {

pid_t ppid_of(pid_t pid) {
  std::string s;
  if (!read_text("/proc/" + std::to_string(pid) + "/status", s)) return -1;
  size_t p = s.find("\nPPid:");
  return p == std::string::npos ? -1 : pid_t(atoi(s.c_str() + p + 6));
}

// The child of `tid` (host pid) whose innermost pid is `ns_pid`.
pid_t child_with_ns_pid(pid_t pid, pid_t tid, pid_t ns_pid) {
  std::string s;
  if (!read_text("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/children", s)) return 0;
  for (const char *q = s.c_str(); *q;) {
    char *e;
    long c = strtol(q, &e, 10);
    if (e == q) break;
    if (ns_tid_of(pid_t(c)) == ns_pid) return pid_t(c);
    q = e;
  }
  return 0;
}

// Kills a tracee of ours and reaps what we, its tracer, are told of its end.
void kill_tracee(pid_t t) {
  if (t <= 0) return;
  kill(t, SIGKILL);
  reap_tracee(t, false);
}

// Registers that make a thread exit at once if it is ever let go (our tracer thread dying
// detaches it): the syscall instruction with exit_group(0) loaded, no restart fix-up.
int arm_exit(pid_t t, const user_regs_struct &base, uint64_t insn) {
  user_regs_struct r = base;
  r.rip = insn;
  r.rax = SYS_exit_group;
  r.orig_rax = uint64_t(-1);
  r.rdi = 0;
  return set_regs(t, r);
}

// Whether a frozen process asked to be a child subreaper (only it can tell).
bool is_subreaper(pid_t pid, pid_t leader) {
  uint64_t insn = vdso_syscall_insn(pid);
  if (!insn) fail_pid(pid, "no syscall instruction found in its [vdso]");
  int v = 0;
  with_injection(pid, leader, insn, [&](const Inject &inject, uint64_t scratch) {
    if (long r = inject(SYS_prctl, PR_GET_CHILD_SUBREAPER, long(scratch), 0, 0); r != 0)
      throw std::runtime_error("prctl(PR_GET_CHILD_SUBREAPER) = " + std::to_string(r));
    iovec l = {&v, sizeof v}, rv = {reinterpret_cast<void *>(scratch), sizeof v};
    process_vm_readv(pid, &l, 1, &rv, 1, 0);
  });
  return v != 0;
}

// Named "cairn-snapshot" in ps, not after the job's program (a `pgrep PROG` in the job must
// not find it twice). The name goes through 16 bytes below its stack, put back after: the
// snapshot's own copy of that page, never the job's.
void name_snapshot(pid_t s2, uint64_t insn) {
  static const char name[16] = "cairn-snapshot";
  with_injection(s2, s2, insn, [&](const Inject &inject, uint64_t scratch) {
    iovec l = {const_cast<char *>(name), sizeof name}, r = {reinterpret_cast<void *>(scratch), sizeof name};
    if (process_vm_writev(s2, &l, 1, &r, 1, 0) == ssize_t(sizeof name)) inject(SYS_prctl, PR_SET_NAME, long(scratch), 0, 0);
  });
}

}  // namespace

pid_t take_snapshot(pid_t pid, pid_t leader, pid_t reaper, const LeaderOf &leader_of, std::string *why_not) {
  // An orphan goes to the nearest subreaper above it, else to PID 1: the snapshot must land
  // on our PID 1, never on a process of the job.
  for (pid_t a = ppid_of(pid); a != reaper; a = ppid_of(a)) {
    pid_t al = a > 0 ? leader_of(a) : 0;
    if (al <= 0) {
      *why_not = "its parent chain leaves the frozen job";
      return 0;
    }
    if (is_subreaper(a, al)) {
      *why_not = "process " + std::to_string(ns_tid_of(a)) + " above it is a child subreaper";
      return 0;
    }
  }
  const uint64_t insn = vdso_syscall_insn(pid);
  if (!insn) fail_pid(pid, "no syscall instruction found in its [vdso]");
  pid_t s = 0, s2 = 0;
  std::string why;
  try {
    with_injection(pid, leader, insn, [&](const Inject &inject, uint64_t) {
      // S: exit signal 0, the descriptor table shared (S never runs; nothing is copied).
      long ns_s = inject(SYS_clone, CLONE_PTRACE | CLONE_FILES, 0, 0, 0);
      if (ns_s <= 0) {
        why = "clone: " + errno_str(int(-ns_s));
        return;
      }
      s = child_with_ns_pid(pid, leader, pid_t(ns_s));
      if (!s) throw std::runtime_error("its clone " + std::to_string(ns_s) + " cannot be found");
      try {
        if (int e = wait_for_stop(s, 10000)) throw std::runtime_error("its clone did not stop: " + errno_str(-e));
        user_regs_struct base;
        if (int e = get_regs(s, base)) throw std::runtime_error("its clone's registers: " + errno_str(-e));
        arm_exit(s, base, insn);
        // S2: its own copy of the descriptor table, closed at once below.
        long ns_s2 = inject_syscall(s, base, insn, SYS_clone, CLONE_PTRACE);
        arm_exit(s, base, insn);
        if (ns_s2 <= 0) {
          why = "clone: " + errno_str(int(-ns_s2));
        } else {
          s2 = child_with_ns_pid(s, s, pid_t(ns_s2));
          if (!s2) throw std::runtime_error("its snapshot " + std::to_string(ns_s2) + " cannot be found");
          if (int e = wait_for_stop(s2, 10000)) throw std::runtime_error("its snapshot did not stop: " + errno_str(-e));
          user_regs_struct b2;
          if (int e = get_regs(s2, b2)) throw std::runtime_error("its snapshot's registers: " + errno_str(-e));
          // No descriptor of the job stays open in the snapshot: a pipe's reader must see
          // EOF when the job closes its end, whatever the snapshot is doing.
          if (long r = inject_syscall(s2, b2, insn, SYS_close_range, 0, long(~0U), 0); r != 0)
            throw std::runtime_error("close_range in its snapshot = " + std::to_string(r));
          name_snapshot(s2, insn);
          if (int e = arm_exit(s2, b2, insn)) throw std::runtime_error("its snapshot's registers: " + errno_str(-e));
        }
      } catch (...) {
        kill_tracee(s2);
        s2 = 0;
        kill_tracee(s);
        inject(SYS_wait4, ns_s, 0, __WALL | WNOHANG, 0);
        throw;
      }
      // S goes: reaped by us (its tracer) first, then by the process, its parent.
      kill_tracee(s);
      long r = 0;
      for (int i = 0; i < 1000 && (r = inject(SYS_wait4, ns_s, 0, __WALL | WNOHANG, 0)) == 0; i++) {
        timespec ts{0, 1000000};
        nanosleep(&ts, nullptr);
      }
      if (r != ns_s) throw std::runtime_error("wait4 of its clone = " + std::to_string(r));
    });
  } catch (...) {
    kill_tracee(s2);
    throw;
  }
  if (!s2) {
    *why_not = why.empty() ? "no snapshot" : why;
    return 0;
  }
  if (pid_t p = ppid_of(s2); p != reaper) {
    kill_tracee(s2);
    fail_pid(pid, "its snapshot went to process " + std::to_string(p) + ", not to the job's PID 1");
  }
  return s2;
}

void drop_snapshot(pid_t snapshot) { kill_tracee(snapshot); }

}  // namespace cairn
