// Injected system calls in a frozen process, for the engine's own purposes (snapshots,
// written-page tracking): the thread is left exactly as the freeze left it. Engine thread only.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <functional>

namespace cairn {

// Address of a syscall instruction in the process's [vdso] (0 if none).
uint64_t vdso_syscall_insn(pid_t pid);

// inject(nr, a1, a2, a3, a4): one syscall in the thread, its return value.
using Inject = std::function<long(long, long, long, long, long)>;

// Runs body(inject, scratch) in a frozen thread of ours with every signal blocked (scratch:
// 64 bytes below its stack's red zone), then puts its registers, mask and the scratch bytes
// back and leaves it in its interrupt stop, as the freeze left it. Throws naming pid.
void with_injection(pid_t pid, pid_t tid, uint64_t insn, const std::function<void(const Inject &, uint64_t)> &body);

}  // namespace cairn
