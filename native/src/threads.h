// Threads of a traced process: freeze/thaw, registers, syscall injection.
// Every function here must run on the engine thread (the tracer).
#pragma once
#include <sys/types.h>
#include <sys/user.h>
#include <cstdint>
#include <string>
#include <vector>

namespace cairn {

// -ERESTART* fix-up: a thread stopped inside a syscall is rewound so the call restarts;
// orig_rax = -1 so the kernel does not fix it up a second time. `restored`: the thread is a
// restored one, whose kernel restart block is empty (-ERESTART_RESTARTBLOCK calls that can
// be are run again from their arguments rather than through restart_syscall).
void fixup_restart(user_regs_struct &r, bool restored = false);

// A thread interrupted in restart_syscall is resuming a call the kernel restarts from its
// restart block. Every freeze notes, per thread, the call it interrupted (note_restart);
// restarted_call gives the call a thread's registers stand for: orig_rax, or for
// restart_syscall the call noted at an earlier freeze with the same syscall instruction and
// arguments (restart_syscall itself when none was noted).
void note_restart(pid_t tid, const user_regs_struct &r);
long restarted_call(pid_t tid, const user_regs_struct &r);

// Loads `r` into a thread that sits in a syscall-exit stop after an injection and brings it
// back to a PTRACE_EVENT_STOP, as the freeze left it: its registers keep rax = -ERESTART*
// and orig_rax (the kernel still applies its own restart handling when it is let go), and
// the next reader of its registers sees them untouched. Signals must be blocked. 0 or -errno.
int restop(pid_t tid, const user_regs_struct &r);

int get_regs(pid_t tid, user_regs_struct &r);   // 0 or -errno
int set_regs(pid_t tid, const user_regs_struct &r);

// Address of a `syscall` (0f 05) instruction inside [start, end) of pid's memory (the vdso).
uint64_t find_syscall_insn(pid_t pid, uint64_t start, uint64_t end);

// Run one syscall in a ptrace-stopped thread from `base` registers, at `insn` (a syscall
// instruction in the tracee). The thread's registers are left as after the syscall; the
// caller restores them. Returns the syscall's return value, or throws std::runtime_error.
long inject_syscall(pid_t tid, const user_regs_struct &base, uint64_t insn, long nr, long a1 = 0, long a2 = 0,
                    long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0);

// Host TIDs of a process, leader first.
std::vector<pid_t> list_threads(pid_t pid);

// The innermost-namespace id from the NSpid: line of /proc/TID/status (-1 if gone).
pid_t ns_tid_of(pid_t host_tid);


// --- added by the engine (freeze/thaw); same rule: engine thread only ---

// Waits until `tid` (traced by us) is in a ptrace stop. A signal-delivery stop on the way is
// passed on to the thread (its handler runs, as it would have) and waiting continues.
// Returns 0 when stopped, -ESRCH if the thread exited (it is reaped), -ETIMEDOUT.
int wait_for_stop(pid_t tid, int timeout_ms);

// PTRACE_SEIZE(PTRACE_O_TRACESYSGOOD) + PTRACE_INTERRUPT every thread of pid, again and again
// until the thread set is stable. Returns host tids, leader first. On failure nothing stays
// attached and std::runtime_error names the process.
std::vector<pid_t> freeze_threads(pid_t pid);

// PTRACE_DETACH each tid (errors of vanished threads ignored).
void detach_threads(const std::vector<pid_t> &tids);

// Waits (bounded, ~5 s) for a tracee of ours that was killed to exit, and reaps it; with
// detach, a tracee found stopped instead is detached. Returns at once if it is not ours.
void reap_tracee(pid_t t, bool detach);

// PTRACE_GETREGSET NT_X86_XSTATE with the kernel's size. Throws.
std::vector<uint8_t> get_xstate(pid_t tid);

}  // namespace cairn
