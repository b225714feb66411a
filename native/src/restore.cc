// Drive the restore of one process (engine thread): nsinit in restore mode, seize the
// restorer, wait for every thread's int3, unmap the restorer, load registers, let go.
// The restorer side is native/helpers/restorer.c; the plan format native/include/plan.h.
#include "restore.h"
#include "monotonic.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>

#include "../include/plan.h"
#include "job_objects.h"
#include "namespaces.h"
#include "page_chain.h"
#include "pagecodec.h"
#include "process.h"
#include "progress.h"
#include "runcheck.h"
#include "procstate.h"
#include "threads.h"

namespace cairn {

namespace {

std::string err(int e) { return strerror(e); }

std::string who_of(const ProcessImage &img) { return "pid " + std::to_string(img.ns_pid) + " (" + img.comm + ")"; }

// Closes on scope exit: every early throw must leave no descriptor behind.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

// The restorer's last words: its last non-empty log line.
std::string last_log_line(const std::string &path) {
  Fd f(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) return "(no restorer log: " + err(errno) + ")";
  struct stat st;
  if (fstat(f.fd, &st) < 0 || st.st_size == 0) return "(restorer log is empty)";
  off_t from = st.st_size > 65536 ? st.st_size - 65536 : 0;
  std::string buf(size_t(st.st_size - from), '\0');
  ssize_t n = pread(f.fd, &buf[0], buf.size(), from);
  if (n <= 0) return "(cannot read the restorer log)";
  buf.resize(size_t(n));
  while (!buf.empty() && (buf.back() == '\n' || buf.back() == ' ')) buf.pop_back();
  size_t nl = buf.rfind('\n');
  return nl == std::string::npos ? buf : buf.substr(nl + 1);
}

std::string status_str(int st) {
  if (WIFEXITED(st)) return "exited with status " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return std::string("was killed by signal ") + strsignal(WTERMSIG(st));
  return "stopped unexpectedly";
}

// Everything a failed restore must undo: the helper (and with it the namespace) and the
// traced restorer threads, reaped non-leaders first (a traced zombie leader is reported only
// after its other threads, and init hangs in zap_pid_ns_processes until they are reaped).
struct Restoring {
  NsinitProcess ns;
  std::vector<pid_t> tids;   // traced host tids, leader first
  std::set<pid_t> gone;      // already reaped
  bool done = false;

  void reap_all() {
    if (tids.empty()) return;
    // Threads the restorer made but whose clone event we never saw are traced too.
    for (pid_t t : list_threads(tids[0]))
      if (std::find(tids.begin(), tids.end(), t) == tids.end()) tids.push_back(t);
    const int64_t deadline = mono_ms() + 5000;
    for (size_t k = tids.size(); k-- > 0;) {
      pid_t t = tids[k];
      while (!gone.count(t)) {
        int st;
        pid_t r = waitpid(t, &st, __WALL | WNOHANG);
        if (r < 0 || (r == t && (WIFEXITED(st) || WIFSIGNALED(st)))) {
          gone.insert(t);
          break;
        }
        if (mono_ms() > deadline) break;   // give up on this one rather than hang the engine
        if (r == 0) sleep_us(500);
      }
    }
  }

  ~Restoring() {
    if (done) return;
    if (ns.init_pid > 0) kill(ns.init_pid, SIGKILL);   // the whole namespace goes
    for (pid_t t : tids)
      if (!gone.count(t)) syscall(SYS_tgkill, tids[0], t, SIGKILL);
    reap_all();
    nsinit_abort(ns);
  }
};

// One restored process while it is being rebuilt.
struct RProc {
  const ProcessImage *img = nullptr;
  pid_t host = 0;              // host pid (the leader)
  std::vector<pid_t> tids;     // traced host tids, leader first
  std::set<pid_t> parked;
};

// Waits until every live process of the job exists and each of its threads sits on its
// int3 (SIGTRAP, SI_KERNEL). New processes come as fork/vfork events of their parent's
// restorer, new threads as clone events.
// Bytes a process has read (/proc/PID/io rchar): the restorers' page data, for progress.
uint64_t rchar_of(pid_t pid) {
  std::string s;
  if (!read_text("/proc/" + std::to_string(pid) + "/io", s)) return 0;
  size_t p = s.find("rchar: ");
  return p == std::string::npos ? 0 : strtoull(s.c_str() + p + 7, nullptr, 10);
}

// `ready` is called until it returns true (the job's time namespace is made); the restorers
// wait for that before they make their threads. `budget_ms` runs from then.
void wait_parked(Restoring &rs, std::vector<RProc> &procs, const std::map<pid_t, const ProcessImage *> &by_ns_pid,
                 int64_t budget_ms, const std::function<bool()> &ready, const std::string &log_path, uint64_t progress_base,
                 pid_t helper_tid) {
  int64_t deadline = -1;
  std::map<pid_t, size_t> proc_of;   // host tid -> index into procs
  std::set<pid_t> helpers;           // restorer threads that fill memory, then exit
  for (size_t i = 0; i < procs.size(); i++)
    for (pid_t t : procs[i].tids) proc_of[t] = i;
  auto died = [&](const ProcessImage *img, const std::string &how) {
    throw std::runtime_error((img ? who_of(*img) : std::string("a restored process")) + ": restore failed: the restorer " +
                             how + ": " + last_log_line(log_path));
  };
  auto all_parked = [&]() {
    if (procs.size() != by_ns_pid.size() || !helpers.empty()) return false;
    for (const RProc &p : procs)
      if (p.parked.size() < p.img->threads.size()) return false;
    return true;
  };
  long nap = 50;
  int64_t next_progress = 0;
  while (!all_parked()) {
    if (deadline < 0 && ready()) deadline = mono_ms() + budget_ms;
    if (mono_ms() >= next_progress) {
      uint64_t read = 0;
      for (const RProc &p : procs) read += rchar_of(p.host);
      progress_set_done(std::min(progress_get().total, progress_base + read));
      next_progress = mono_ms() + 100;
    }
    bool progress = false;
    for (size_t k = 0; k < rs.tids.size(); k++) {
      const pid_t t = rs.tids[k];
      if (rs.gone.count(t)) continue;
      const size_t pi = proc_of[t];
      if (procs[pi].parked.count(t)) continue;
      int st = 0;
      pid_t r = waitpid(t, &st, __WALL | WNOHANG);
      if (r == 0) continue;
      if (r < 0) {
        rs.gone.insert(t);
        died(procs[pi].img, "vanished (" + err(errno) + ")");
      }
      progress = true;
      if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && helpers.erase(t)) {
        rs.gone.insert(t);   // a helper done with its share of the pages
        continue;
      }
      if (WIFEXITED(st) || WIFSIGNALED(st)) {
        rs.gone.insert(t);
        died(procs[pi].img, status_str(st));
      }
      if (!WIFSTOPPED(st)) continue;
      const int event = st >> 16, sig = WSTOPSIG(st);
      if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK) {
        unsigned long nt = 0;
        if (ptrace(PTRACE_GETEVENTMSG, t, 0, &nt) == 0 && nt > 0) {
          rs.tids.push_back(pid_t(nt));
          if (event == PTRACE_EVENT_CLONE && helper_tid > 0 && ns_tid_of(pid_t(nt)) >= helper_tid) {
            helpers.insert(pid_t(nt));         // not one of the process's threads
            proc_of[pid_t(nt)] = pi;
          } else if (event == PTRACE_EVENT_CLONE) {   // a thread of the same process
            procs[pi].tids.push_back(pid_t(nt));
            proc_of[pid_t(nt)] = pi;
            if (procs[pi].tids.size() > procs[pi].img->threads.size()) died(procs[pi].img, "created more threads than the image has");
          } else {                             // a child process: which one?
            pid_t ns = ns_tid_of(pid_t(nt));
            auto it = by_ns_pid.find(ns);
            if (it == by_ns_pid.end()) died(procs[pi].img, "created process " + std::to_string(ns) + ", which is not in the job");
            RProc c;
            c.img = it->second;
            c.host = pid_t(nt);
            c.tids.push_back(pid_t(nt));
            procs.push_back(c);
            proc_of[pid_t(nt)] = procs.size() - 1;
          }
        }
        ptrace(PTRACE_CONT, t, 0, 0);
      } else if (event != 0 || sig == (SIGTRAP | 0x80)) {
        ptrace(PTRACE_CONT, t, 0, 0);   // a new task's first stop, or another event
      } else if (sig == SIGTRAP) {
        siginfo_t si;
        if (ptrace(PTRACE_GETSIGINFO, t, 0, &si) == 0 && si.si_code == SI_KERNEL)
          procs[pi].parked.insert(t);
        else
          ptrace(PTRACE_CONT, t, 0, 0);
      } else {
        ptrace(PTRACE_CONT, t, 0, sig);   // a fault in the restorer: let it end it, we report it
      }
    }
    if (progress) {
      nap = 50;
      continue;
    }
    if (deadline >= 0 && mono_ms() > deadline) died(procs.empty() ? nullptr : procs[0].img, "did not finish in time");
    sleep_us(nap);
    nap = std::min(nap * 2, 2000L);
  }
}

size_t kernel_xstate_size(pid_t tid) {
  std::vector<uint8_t> buf(64 * 1024);
  iovec io = {buf.data(), buf.size()};
  if (ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE, &io) < 0) return 0;
  return io.iov_len;
}

}  // namespace

namespace {

// The last steps of one process, all its threads parked: the restorer goes (one injected
// munmap), then registers, FPU state, signal masks, rlimits and per-thread attributes.
void finish_process(RProc &p) {
  const ProcessImage &img = *p.img;
  const pid_t pid = p.host;
  // The restorer's code, stacks and plan go in one syscall, run from the restored vdso
  // (or, without one, from the `syscall` the restorer put right after its int3).
  user_regs_struct base;
  if (int e = get_regs(pid, base)) throw std::runtime_error("registers of the main thread: " + err(-e));
  uint64_t insn = img.special.vdso_start ? find_syscall_insn(pid, img.special.vdso_start, img.special.vdso_end) : 0;
  if (!insn) insn = find_syscall_insn(pid, base.rip, base.rip + 2);
  if (!insn) throw std::runtime_error("no syscall instruction to unmap the restorer with");
  long r = inject_syscall(pid, base, insn, SYS_munmap, long(RESTORER_BASE), long(RESTORER_SPAN));
  if (r != 0) throw std::runtime_error("unmapping the restorer: " + err(int(-r)));

  const size_t xsize = kernel_xstate_size(pid);
  for (pid_t t : p.tids) {
    pid_t ns_tid = ns_tid_of(t);
    const ThreadImage *th = nullptr;
    for (const ThreadImage &x : img.threads)
      if (x.tid == ns_tid) th = &x;
    if (!th) throw std::runtime_error("restored thread " + std::to_string(ns_tid) + " is not in the image");
    const std::string tw = "thread " + std::to_string(th->tid);
    user_regs_struct regs;
    memcpy(&regs, th->regs.data(), sizeof regs);   // size checked by build_plan
    fixup_restart(regs, true);
    if (int e = set_regs(t, regs)) throw std::runtime_error(tw + ": set registers: " + err(-e));
    if (!th->xstate.empty()) {
      if (th->xstate.size() != xsize)
        throw std::runtime_error(tw + ": saved FPU/vector state is " + std::to_string(th->xstate.size()) +
                                 " bytes, this CPU/kernel uses " + std::to_string(xsize) +
                                 " (restart on a machine like the checkpoint's)");
      iovec io = {const_cast<uint8_t *>(th->xstate.data()), th->xstate.size()};
      if (ptrace(PTRACE_SETREGSET, t, NT_X86_XSTATE, &io) < 0)
        throw std::runtime_error(tw + ": set FPU/vector state: " + err(errno));
    }
    uint64_t mask = th->sigmask;
    if (ptrace(PTRACE_SETSIGMASK, t, sizeof mask, &mask) < 0)
      throw std::runtime_error(tw + ": set signal mask: " + err(errno));
  }
  for (const RlimitImage &l : img.rlimits) {
    rlimit64 v = {l.cur, l.max};
    if (syscall(SYS_prlimit64, pid, l.resource, &v, nullptr) == 0) continue;
    // A hard limit above ours cannot be raised without privilege: keep the lower one.
    rlimit64 now;
    if (errno != EPERM || syscall(SYS_prlimit64, pid, l.resource, nullptr, &now) < 0)
      throw std::runtime_error("set rlimit " + std::to_string(l.resource) + ": " + err(errno));
    v.rlim_max = std::min<uint64_t>(v.rlim_max, now.rlim_max);
    v.rlim_cur = std::min<uint64_t>(v.rlim_cur, v.rlim_max);
    if (syscall(SYS_prlimit64, pid, l.resource, &v, nullptr) < 0)
      throw std::runtime_error("set rlimit " + std::to_string(l.resource) + ": " + err(errno));
  }
  // After the rlimits: RLIMIT_NICE decides how low a nice may go.
  for (pid_t t : p.tids) {
    const pid_t ns_tid = ns_tid_of(t);
    for (const ThreadImage &x : img.threads)
      if (x.tid == ns_tid) restore_thread_attrs(t, x);
  }
}

// Whether every page of its VMA runs has a crc (images of this cairn have them; the
// restorer checks the pages against them).
bool has_all_page_crcs(const ProcessImage &img) {
  for (const VmaImage &v : img.vmas)
    for (const PageRun &r : v.runs)
      if (r.page_crcs.size() != r.len / 4096) return false;
  return true;
}

struct JobPlan {
  JobObjects objects;
  std::vector<uint8_t> bytes;
  pid_t helper_tid = 0;   // plan_job.helper_tid: restorer threads from here up are helpers
};

// The job plan (plan.h): header, process table (zombies included), strings, then each live
// process's plan. Shared objects are made here: the plans refer to them by passed index.
JobPlan build_job_plan(const RestoreRequest &req, const std::vector<const ProcessImage *> &imgs,
                       const ProcessImage *main_img, const std::vector<int> &page_fds, const std::vector<bool> &restorer_checks) {
  JobPlan jp;
  std::vector<std::string> paths;
  for (const RestoreProc &rp : req.procs) paths.push_back(rp.image_path);
  jp.objects = make_job_objects(imgs, paths);
  // Decompressed page data (one memfd per compressed image) is passed after the job objects.
  uint32_t npages = 0;
  for (int f : page_fds) npages += f >= 0;
  const uint32_t npassed = uint32_t(3 + jp.objects.fds.size() + npages);
  uint32_t next_pages = uint32_t(3 + jp.objects.fds.size());
  int32_t max_fd = 2;
  for (const ProcessImage *img : imgs)
    for (const FdImage &f : img->fds) max_fd = std::max(max_fd, f.fd);
  const uint32_t pass_floor = pass_floor_for(max_fd, npassed);

  std::set<pid_t> live;
  for (const ProcessImage *img : imgs) live.insert(img->ns_pid);
  std::vector<plan_proc> table;
  std::string jstr(1, '\0');
  std::vector<std::vector<uint8_t>> plans;
  for (size_t i = 0; i < imgs.size(); i++) {
    const ProcessImage &img = *imgs[i];
    PassMap pm;
    for (int k = 0; k < 3; k++) pm.inherited.push_back(size_t(k) < req.pass_fds.size() ? k : -1);
    for (const auto &[fd, idx] : jp.objects.by_fd[i]) pm.by_fd[fd] = 3 + idx;
    for (const auto &[shm, idx] : jp.objects.by_shm[i]) pm.by_shm[shm] = 3 + idx;
    pm.pass_floor = pass_floor;
    pm.npassed = npassed;
    plans.push_back(build_plan(img, pm, restorer_checks[i]));
    plan_proc e;
    memset(&e, 0, sizeof e);
    e.pid = img.ns_pid;
    e.ppid = img.ns_ppid;
    e.pgid = img.ns_pgid;
    e.sid = img.ns_sid;
    e.image_path = uint32_t(jstr.size());
    if (page_fds[i] >= 0) e.pages_passed = 1 + next_pages++;
    jstr += req.procs[i].image_path;
    jstr.push_back('\0');
    e.plan_size = i;   // index into plans until the layout below
    table.push_back(e);
    for (const ZombieImage &z : img.zombies) {
      if (live.count(z.ns_pid)) throw std::runtime_error(who_of(img) + ": zombie child " + std::to_string(z.ns_pid) + " is also a live process");
      plan_proc zp;
      memset(&zp, 0, sizeof zp);
      zp.pid = z.ns_pid;
      zp.ppid = img.ns_pid;
      zp.pgid = z.ns_pgid;
      zp.sid = z.ns_sid;
      zp.zombie = 1;
      zp.status = z.status;
      strncpy(zp.comm, z.comm.c_str(), sizeof zp.comm - 1);
      table.push_back(zp);
    }
  }
  // Pid order: siblings are created in it (a pipeline's group leader is its first process).
  std::sort(table.begin(), table.end(), [](const plan_proc &a, const plan_proc &b) { return a.pid < b.pid; });
  if (table.size() > PLAN_MAX_PROCS) throw std::runtime_error(who_of(*main_img) + ": too many processes");
  plan_job jh;
  memset(&jh, 0, sizeof jh);
  jh.magic = PLAN_JOB_MAGIC;
  jh.version = PLAN_VERSION;
  jh.nprocs = uint32_t(table.size());
  jh.procs_off = sizeof jh;
  jh.str_off = jh.procs_off + table.size() * sizeof(plan_proc);
  jh.total_size = uint32_t(jh.str_off + jstr.size());
  jh.main_pid = main_img->ns_pid;
  jh.pass_floor = pass_floor;
  jh.npassed = npassed;
  pid_t top = 0;
  for (const plan_proc &e : table) top = std::max(top, pid_t(e.pid));
  for (const ProcessImage *img : imgs)
    for (const ThreadImage &t : img->threads) top = std::max(top, pid_t(t.tid));
  jh.helper_tid = jp.helper_tid = top + 1;
  size_t end = jh.total_size;
  for (plan_proc &e : table) {
    if (e.zombie) continue;
    const std::vector<uint8_t> &plan = plans[size_t(e.plan_size)];
    e.plan_off = (end + 7) & ~size_t(7);
    e.plan_size = plan.size();
    end = e.plan_off + plan.size();
  }
  jp.bytes.assign(end, 0);
  memcpy(jp.bytes.data(), &jh, sizeof jh);
  memcpy(jp.bytes.data() + jh.procs_off, table.data(), table.size() * sizeof(plan_proc));
  memcpy(jp.bytes.data() + jh.str_off, jstr.data(), jstr.size());
  for (const plan_proc &e : table) {
    if (e.zombie) continue;
    const std::vector<uint8_t> *plan = nullptr;
    for (size_t i = 0; i < imgs.size(); i++)
      if (imgs[i]->ns_pid == e.pid) plan = &plans[i];
    memcpy(jp.bytes.data() + e.plan_off, plan->data(), plan->size());
  }
  return jp;
}

}  // namespace

namespace {
std::atomic<int> go_state{0};   // 0: wait, 1: go, -1: abandon
}  // namespace

void restore_go_reset() { go_state = 0; }
void restore_go(bool go) { go_state = go ? 1 : -1; }

JobProcessInfo restore_job(const RestoreRequest &req) {
  if (req.procs.empty()) throw std::runtime_error("restore: no process images");
  // The main process is the one init made: the lowest pid among init's children.
  const ProcessImage *main_img = nullptr;
  std::map<pid_t, const ProcessImage *> by_ns_pid;
  std::vector<const ProcessImage *> imgs;
  for (const RestoreProc &rp : req.procs) {
    const ProcessImage &img = rp.image;
    if (by_ns_pid.count(img.ns_pid)) throw std::runtime_error(who_of(img) + ": two images of the same pid");
    by_ns_pid[img.ns_pid] = &img;
    imgs.push_back(&img);
    if (img.ns_ppid == 1 && (!main_img || img.ns_pid < main_img->ns_pid)) main_img = &img;
  }
  if (!main_img) throw std::runtime_error("restore: no image of the job's main process (a child of init)");
  const std::string who = who_of(*main_img);
  for (const ProcessImage *img : imgs)
    if (img->ns_ppid != 1 && !by_ns_pid.count(img->ns_ppid))
      throw std::runtime_error(who_of(*img) + ": cannot restore: its parent, pid " + std::to_string(img->ns_ppid) +
                               ", is not among the images");
  if (req.pass_fds.size() > 3) throw std::runtime_error(who + ": at most 3 descriptors (stdio) can be passed");
  if (access(req.restorer_path.c_str(), X_OK) < 0)   // nsinit would only report a failed exec as a status
    throw std::runtime_error(who + ": cannot run the restorer " + req.restorer_path + ": " + err(errno));

  // Every page is checked before the job runs. The memory of plain images, the bulk, is
  // checked by the restorers as they fill it (each page as it landed, read back through the
  // kernel: plan_run.crc_first); the rest now, before anything is made (an image without
  // page crcs, of an older cairn, has its memory checked here too). The job is let go, and
  // files cut back, only once all of it checked out. A damaged image is reported as such,
  // even when a restorer stumbles first (an image cut short).
  std::vector<bool> restorer_checks(imgs.size(), false);
  for (size_t i = 0; i < imgs.size() && !req.pages_checked; i++) {
    const bool plain = imgs[i]->pages_codec == CODEC_NONE && !has_page_references(*imgs[i]);
    restorer_checks[i] = plain && has_all_page_crcs(*imgs[i]);
    verify_pages(req.procs[i].image_path, *imgs[i], plain && !restorer_checks[i] ? PageRuns::All : PageRuns::Others);
  }
  // A restorer that found a bad page, or could not read its image: the image's fault, if
  // the disk says it is damaged (named as the check names it), else what the restorer said.
  auto image_at_fault = [&] {
    const std::string last = last_log_line(req.log_path);
    if (last.find("page checksum mismatch") == std::string::npos && last.find("read page run") == std::string::npos) return;
    for (size_t i = 0; i < imgs.size(); i++)
      if (restorer_checks[i]) verify_pages(req.procs[i].image_path, *imgs[i], PageRuns::Memory);
  };
  // Compressed page data is decompressed here, before anything starts (a damaged image fails
  // now), into one memfd per image: the restorer reads it like a raw image and frees it as it goes.
  // Progress: every page byte is read once by a restorer, compressed ones decompressed first,
  // those of an incremental image (its own and those in older images) gathered first.
  uint64_t work = 0;
  for (const ProcessImage *img : imgs) {
    if (img->pages_codec == CODEC_NONE && has_page_references(*img)) {
      for (const VmaImage &v : img->vmas)
        for (const PageRun &r : v.runs) work += 2 * r.len;
    } else {
      work += img->pages_bytes * (img->pages_codec == CODEC_NONE ? 1 : 2);
    }
  }
  progress_reset(work);
  std::vector<Fd> page_mem(imgs.size());
  std::vector<int> page_fds(imgs.size(), -1);
  std::deque<ProcessImage> assembled;   // incremental images, their runs placed in their memfd
  for (size_t i = 0; i < imgs.size(); i++) {
    const bool refs = imgs[i]->pages_codec == CODEC_NONE && has_page_references(*imgs[i]);
    if (imgs[i]->pages_codec == CODEC_NONE && !refs) continue;
    page_mem[i].fd = int(syscall(SYS_memfd_create, "cairn-pages", MFD_CLOEXEC));
    if (page_mem[i].fd < 0) throw std::runtime_error(who_of(*imgs[i]) + ": memfd for its pages: " + err(errno));
    try {
      if (refs) {
        assembled.push_back(*imgs[i]);
        assemble_pages(req.procs[i].image_path, assembled.back(), page_mem[i].fd);
        if (main_img == imgs[i]) main_img = &assembled.back();
        imgs[i] = &assembled.back();
      } else {
        decompress_pages(req.procs[i].image_path, *imgs[i], page_mem[i].fd, codec_threads());
      }
    } catch (const std::exception &e) {
      throw std::runtime_error(who_of(*imgs[i]) + ": " + e.what());
    }
    page_fds[i] = page_mem[i].fd;
  }
  JobPlan jp = build_job_plan(req, imgs, main_img, page_fds, restorer_checks);

  Fd plan_fd(int(syscall(SYS_memfd_create, "cairn-plan", MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  if (plan_fd.fd < 0) throw std::runtime_error(who + ": memfd for the restore plan: " + err(errno));
  for (size_t done = 0; done < jp.bytes.size();) {
    ssize_t n = write(plan_fd.fd, jp.bytes.data() + done, jp.bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(who + ": writing the restore plan: " + err(errno));
    done += size_t(n);
  }
  // The restorers trust the plan: nobody may change it after this point.
  fcntl(plan_fd.fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  Fd log_fd(open(req.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
  if (log_fd.fd < 0) throw std::runtime_error(who + ": cannot create restorer log " + req.log_path + ": " + err(errno));
  Fd devnull(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (devnull.fd < 0) throw std::runtime_error("cannot open /dev/null: " + err(errno));
  std::vector<int> fds;
  for (size_t i = 0; i < 3; i++) fds.push_back(i < req.pass_fds.size() ? req.pass_fds[i] : devnull.fd);
  fds.push_back(plan_fd.fd);    // RFD_PLAN
  fds.push_back(devnull.fd);    // RFD_IMAGE (each restorer opens its own image)
  fds.push_back(log_fd.fd);     // RFD_LOG
  for (size_t i = 0; i < 3; i++) fds.push_back(i < req.pass_fds.size() ? req.pass_fds[i] : devnull.fd);   // passed 0..2
  for (int f : jp.objects.fds) fds.push_back(f);                                                         // passed 3..
  for (int f : page_fds)
    if (f >= 0) fds.push_back(f);                                                                        // then page memfds

  std::vector<std::string> args = {"restore", "--pid", std::to_string(main_img->ns_pid), "--restorer", req.restorer_path};
  // The job's SysV IPC objects (one image has them): nsinit's init recreates them from that
  // image file, with their ids, before the first restorer runs. Its descriptor comes last.
  Fd ipc_fd;
  uint64_t ipc_len = 0;
  for (const RestoreProc &rp : req.procs) {
    if (!rp.image.sysv_ipc_length) continue;
    if (ipc_fd.fd >= 0) throw std::runtime_error(who_of(rp.image) + ": two images hold the job's SysV IPC objects");
    ipc_fd.fd = open(rp.image_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ipc_fd.fd < 0) throw std::runtime_error(who_of(rp.image) + ": cannot open image " + rp.image_path + ": " + err(errno));
    ipc_len = rp.image.sysv_ipc_length;
    args.insert(args.end(), {"--ipc", std::to_string(fds.size()), "--ipc-off", std::to_string(rp.image.sysv_ipc_offset),
                             "--ipc-len", std::to_string(ipc_len)});
    fds.push_back(ipc_fd.fd);
  }
  // The job's time namespace is made by init when the clock offsets come down this pipe
  // (make_time_ns below); the restorers fill memory meanwhile.
  int tp[2];
  if (pipe2(tp, O_CLOEXEC) < 0) throw std::runtime_error(who + ": pipe for the time namespace: " + err(errno));
  Fd time_r(tp[0]), time_w(tp[1]);
  args.insert(args.end(), {"--time-fd", std::to_string(fds.size())});
  fds.push_back(time_r.fd);
  const std::string &hostname = req.hostname.empty() ? main_img->hostname : req.hostname;
  if (!hostname.empty()) args.insert(args.end(), {"--hostname", hostname});

  Restoring rs;
  rs.ns = spawn_nsinit(req.nsinit_path, args, fds, req.env, "");
  time_r.reset();
  try {
    // init fills the SysV segments before it creates the main process: allow for the reading.
    nsinit_handshake(rs.ns, 10000 + int(std::min<uint64_t>(ipc_len / (20u << 20), 3600)) * 1000);
  } catch (const std::exception &e) {
    const std::string last = ipc_len ? last_log_line(req.log_path) : "";
    if (last.rfind("[nsinit] FAIL: ", 0) == 0) throw std::runtime_error(who + ": restore failed: " + last.substr(15));
    throw std::runtime_error(who + ": restore failed: " + e.what());
  }
  const pid_t pid = rs.ns.child_pid;
  const long opts = PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL;
  if (ptrace(PTRACE_SEIZE, pid, 0, opts) < 0)
    throw std::runtime_error(who + ": restore failed: cannot trace the restorer (host pid " + std::to_string(pid) +
                             "): " + err(errno));
  rs.tids.push_back(pid);
  try {
    nsinit_go(rs.ns);
  } catch (const std::exception &e) {
    throw std::runtime_error(who + ": restore failed: " + e.what());
  }

  // The caller gets ready meanwhile (its coordinator starts) while the restorers fill and
  // check memory; the job's clocks run from the time namespace's making,
  // so it is made only once the caller says go (wait_parked calls this until it is). Nothing
  // of the program has run when the caller gives up: its restorers are killed.
  int64_t mono_offset = req.mono_offset_ns, boot_offset = req.boot_offset_ns;
  const int64_t go_until = mono_ms() + 120000;
  auto make_time_ns = [&]() {
    if (time_w.fd < 0) return true;
    if (req.wait_for_go) {
      if (go_state.load() == 0) {
        if (mono_ms() > go_until) throw std::runtime_error(who + ": restore failed: it was never told to go on");
        return false;
      }
      if (go_state.load() < 0) throw std::runtime_error(who + ": restore abandoned");
    }
    if (req.offsets_at_mono_ns && (mono_offset || boot_offset)) {
      mono_offset -= clock_ns(CLOCK_MONOTONIC) - req.offsets_at_mono_ns;
      boot_offset -= clock_ns(CLOCK_BOOTTIME) - req.offsets_at_boot_ns;
    }
    const int64_t off[2] = {mono_offset, boot_offset};
    if (write(time_w.fd, off, sizeof off) != ssize_t(sizeof off))
      throw std::runtime_error(who + ": restore failed: cannot hand the clock offsets to the job's init: " + err(errno));
    time_w.reset();
    return true;
  };

  // Generous: the restorers read every page of the images before their threads park.
  uint64_t bytes = 0;
  for (const ProcessImage *img : imgs) bytes += img->pages_bytes;
  // A TCP listener may wait up to 65 s for its port (restorer_sockets.c: TIME_WAIT).
  bool tcp_listener = false;
  for (const ProcessImage *img : imgs)
    for (const SocketImage &s : img->sockets) tcp_listener |= s.state == SOCKET_LISTEN && s.family != AF_UNIX;
  const int64_t budget_ms = 60000 + (tcp_listener ? 65000 : 0) + int64_t(bytes / (20u << 20)) * 1000;
  std::vector<RProc> procs(1);
  procs[0].img = main_img;
  procs[0].host = pid;
  procs[0].tids.push_back(pid);
  try {
    wait_parked(rs, procs, by_ns_pid, budget_ms, make_time_ns, req.log_path, progress_get().done, jp.helper_tid);
  } catch (const std::exception &) {
    image_at_fault();
    throw;
  }
  for (const auto &[path, size] : req.cut_back)
    if (truncate(path.c_str(), off_t(size)) < 0)
      throw std::runtime_error(who + ": restore failed: cannot cut " + path + " back to its " + std::to_string(size) +
                               " bytes at the checkpoint: " + err(errno));

  for (RProc &p : procs) {
    try {
      finish_process(p);
    } catch (const std::exception &e) {
      throw std::runtime_error(who_of(*p.img) + ": restore failed: " + e.what());
    }
  }
  // A process holding the sending end of a TCP connection whose bytes in flight did not fit
  // in the fresh buffers stays held until the agent has sent them (the others run and read).
  std::set<const ProcessImage *> held;
  for (const HeldRefill &h : jp.objects.refills)
    for (size_t i : h.procs) held.insert(imgs[i]);
  // Children before parents: a parent let go first could wait() for a child still held.
  auto detach = [&](bool holding) {
    for (size_t i = procs.size(); i-- > 0;) {
      if (held.count(procs[i].img) != holding) continue;
      for (pid_t t : procs[i].tids)
        if (ptrace(PTRACE_DETACH, t, 0, 0) < 0)
          throw std::runtime_error(who_of(*procs[i].img) + ": restore failed: detach thread " + std::to_string(t) + ": " + err(errno));
    }
  };
  detach(false);
  JobProcessInfo info;
  if (!held.empty()) {
    // Their bytes go on a pump thread; the engine lets them go once it is done (releaseHeld).
    std::vector<Refill> rs_left;
    for (HeldRefill &h : jp.objects.refills) {
      // The pump outlives this restore, whose descriptors are closed when it returns.
      if (!h.r.own_fd) {
        h.r.fd = fcntl(h.r.fd, F_DUPFD_CLOEXEC, 3);
        h.r.own_fd = true;
        if (h.r.fd < 0) throw std::runtime_error(who + ": restore failed: dup of a TCP connection's end: " + err(errno));
      }
      rs_left.push_back(std::move(h.r));
    }
    std::vector<pid_t> hosts;
    for (size_t i = procs.size(); i-- > 0;)
      if (held.count(procs[i].img)) {
        hosts.push_back(procs[i].host);
        info.held.emplace_back(procs[i].host, procs[i].tids);
      }
    start_pump(hosts, std::move(rs_left));
  }
  rs.done = true;
  info.pid = pid;
  info.ns_pid = main_img->ns_pid;
  info.mono_offset_ns = mono_offset;
  info.boot_offset_ns = boot_offset;
  info.init_pid = rs.ns.init_pid;
  info.helper_pid = rs.ns.helper_pid;
  info.helper_pidfd = rs.ns.helper_pidfd;   // handed over to the caller
  rs.ns.helper_pidfd = -1;
  return info;
}

void verify_pages(const std::string &image_path, const ProcessImage &image, PageRuns which) {
  const std::string who = who_of(image);
  Fd f(open(image_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) throw std::runtime_error(who + ": cannot open image " + image_path + ": " + err(errno));
  std::vector<const std::vector<PageRun> *> all;
  if (which == PageRuns::Others) {
  } else if (image.pages_codec != CODEC_NONE || has_page_references(image)) {
    // The frames are decompressed (or an incremental image's runs gathered) into memory that
    // is dropped after: each VMA run's crc32c is checked there; the other runs are plain
    // bytes in the file (below).
    Fd mem(int(syscall(SYS_memfd_create, "cairn-verify", MFD_CLOEXEC)));
    if (mem.fd < 0) throw std::runtime_error(who + ": memfd: " + err(errno));
    try {
      if (image.pages_codec != CODEC_NONE) {
        decompress_pages(image_path, image, mem.fd, codec_threads());
      } else {
        ProcessImage copy = image;
        assemble_pages(image_path, copy, -1);   // read and checked, not kept
      }
    } catch (const std::exception &e) {
      throw std::runtime_error(who + ": " + e.what());
    }
  } else {
    for (const VmaImage &v : image.vmas) all.push_back(&v.runs);
  }
  const std::vector<PageRun> ipc = {PageRun{0, image.sysv_ipc_length, image.sysv_ipc_offset, image.sysv_ipc_crc32c}};
  if (which != PageRuns::Memory) {
    for (const SharedFile &s : image.shared_files) all.push_back(&s.runs);   // memfd / deleted file contents
    for (const PipeImage &p : image.pipes) all.push_back(&p.runs);            // bytes in flight in pipes
    for (const PtyImage &p : image.ptys) all.push_back(&p.runs);              // output in flight in pseudo-terminals
    for (const TmpfsFile &t : image.tmpfs_files) all.push_back(&t.runs);     // shared memory files
    if (image.sysv_ipc_length) all.push_back(&ipc);                           // the job's SysV IPC objects
  }
  std::vector<const PageRun *> flat;
  for (const std::vector<PageRun> *runs : all)
    for (const PageRun &r : *runs) flat.push_back(&r);
  const std::string e = check_runs(f.fd, flat, codec_threads());
  if (!e.empty()) throw std::runtime_error(who + ": image " + image_path + " " + e);
}

}  // namespace cairn
