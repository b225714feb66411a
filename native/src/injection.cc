// Injected system calls for the engine's own purposes (injection.h).
#include "injection.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#include <stdexcept>
#include <string>

#include "process.h"
#include "threads.h"

namespace cairn {

namespace {
constexpr size_t kScratch = 64;
}  // namespace

uint64_t vdso_syscall_insn(pid_t pid) {
  std::string maps;
  if (!read_text("/proc/" + std::to_string(pid) + "/maps", maps)) return 0;
  size_t p = maps.find("[vdso]");
  if (p == std::string::npos) return 0;
  size_t b = maps.rfind('\n', p);
  b = b == std::string::npos ? 0 : b + 1;
  char *e;
  uint64_t vs = strtoull(maps.c_str() + b, &e, 16);
  uint64_t ve = strtoull(e + 1, nullptr, 16);
  return find_syscall_insn(pid, vs, ve);
}

void with_injection(pid_t pid, pid_t tid, uint64_t insn, const std::function<void(const Inject &, uint64_t)> &body) {
  user_regs_struct orig;
  if (int e = get_regs(tid, orig)) fail_pid(pid, "cannot read registers: " + errno_str(-e));
  uint64_t mask = 0;
  if (ptrace(PTRACE_GETSIGMASK, tid, sizeof mask, &mask) < 0) fail_pid(pid, "PTRACE_GETSIGMASK: " + errno_str(errno));
  const uint64_t scratch = (orig.rsp - 128 - 2 * kScratch) & ~uint64_t(63);
  uint8_t saved[kScratch];
  iovec l = {saved, sizeof saved}, r = {reinterpret_cast<void *>(scratch), sizeof saved};
  const bool have_saved = process_vm_readv(pid, &l, 1, &r, 1, 0) == ssize_t(sizeof saved);
  uint64_t all = ~uint64_t(0);
  ptrace(PTRACE_SETSIGMASK, tid, sizeof all, &all);
  std::string error;
  try {
    body([&](long nr, long a1, long a2, long a3, long a4) { return inject_syscall(tid, orig, insn, nr, a1, a2, a3, a4); },
         scratch);
  } catch (const std::exception &e) {
    error = e.what();
  }
  if (have_saved) process_vm_writev(pid, &l, 1, &r, 1, 0);
  int se = restop(tid, orig);
  ptrace(PTRACE_SETSIGMASK, tid, sizeof mask, &mask);
  if (!error.empty()) throw std::runtime_error(error);
  if (se) fail_pid(pid, "cannot put its registers back: " + errno_str(-se));
}

}  // namespace cairn
