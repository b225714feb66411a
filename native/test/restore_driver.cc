// Native-only restore test (no Node): launch PROG in fresh namespaces with the engine's own
// functions, freeze and dump it after --at ms, kill it, restore it from the image, and wait
// for it to finish (--at -1: no checkpoint, a reference run). The job's stdout and stderr
// go to --stdout FILE; its stdin is a pipe the driver feeds one byte into --feed ms after
// the restore.
//
//   restore_driver --nsinit P --restorer P --image F [--at MS] [--gap MS] [--feed MS]
//                  [--stdout FILE] -- PROG ARGS...
//
// Build (from native/; the engine sources minus the Node glue):
//   g++ -std=c++17 -O2 -msse4.2 -Wall -Wextra -o restore_driver test/restore_driver.cc
//       src/{plan,restore,threads,namespaces,process,memory,files,crc32c}.cc   (one line)
// Test knobs: CAIRN_TEST_BETWEEN="cmd" runs cmd between the kill and the restore;
// CAIRN_TEST_BAD_THREAD=1 makes the last thread's rseq registration fail in the restorer.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "../src/namespaces.h"
#include "../src/process.h"
#include "../src/restore.h"
#include "../src/threads.h"

extern char **environ;
using namespace cairn;

static int64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
static void sleep_ms(long ms) { usleep(useconds_t(ms * 1000)); }

static StdioIdentity ident(int fd) {
  StdioIdentity s;
  struct stat st;
  if (fstat(fd, &st) == 0) s = {true, uint64_t(st.st_dev), uint64_t(st.st_ino)};
  return s;
}

int main(int argc, char **argv) {
  std::string nsinit, restorer, image, out = "/dev/null";
  long at = 500, gap = 0, feed = -1;
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--"); i += 2) {
    if (i + 1 >= argc) return 2;
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--nsinit") nsinit = v;
    else if (a == "--restorer") restorer = v;
    else if (a == "--image") image = v;
    else if (a == "--at") at = atol(v.c_str());
    else if (a == "--gap") gap = atol(v.c_str());
    else if (a == "--feed") feed = atol(v.c_str());
    else if (a == "--stdout") out = v;
    else return 2;
  }
  if (i + 1 >= argc || nsinit.empty() || restorer.empty() || image.empty()) {
    fprintf(stderr, "usage: restore_driver --nsinit P --restorer P --image F [--at MS] [--gap MS] [--feed MS] "
                    "[--stdout FILE] -- PROG ARGS...\n");
    return 2;
  }
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::vector<std::string> env;
  for (char **e = environ; *e; e++) env.push_back(*e);
  int pp[2];
  if (pipe2(pp, O_CLOEXEC) < 0) return 1;
  int ofd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (ofd < 0) return 1;
  std::vector<int> stdio = {pp[0], ofd, ofd};
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) return 1;

  try {
    std::vector<std::string> args = {"launch", "--"};
    for (int k = i + 1; k < argc; k++) args.push_back(argv[k]);
    NsinitProcess job = spawn_nsinit(nsinit, args, stdio, env, cwd);
    nsinit_handshake(job);
    nsinit_go(job);
    int st;
    if (at < 0) {   // a reference run, uninterrupted
      if (feed >= 0) {
        sleep_ms(feed);
        if (write(pp[1], "x", 1) != 1) perror("feed");
      }
      waitpid(job.helper_pid, &st, 0);
      return helper_status(st);
    }
    sleep_ms(at);

    const int64_t t0 = mono_ns();
    std::vector<pid_t> tids = freeze_threads(job.child_pid);
    DumpOptions dopt;
    dopt.image_path = image;
    for (int fd : stdio) dopt.stdio.push_back(ident(fd));
    std::unique_ptr<PendingDump> pend = dump_process(job.child_pid, tids, dopt);
    DumpResult d = finish_dump(job.child_pid, *pend, 0);
    const int64_t t1 = mono_ns();
    fprintf(stderr, "[driver] dumped %zu thread(s), %zu vmas, %llu page bytes in %.1f ms\n", tids.size(),
            d.image.vmas.size(), (unsigned long long)d.image.pages_bytes, (t1 - t0) / 1e6);
    verify_pages(image, d.image);

    // Kill the original while frozen: non-leader threads reaped first.
    kill(job.init_pid, SIGKILL);
    for (size_t k = tids.size(); k-- > 0;) waitpid(tids[k], nullptr, __WALL);
    waitpid(job.helper_pid, &st, 0);
    close(job.helper_pidfd);
    // What the agent does (file-checks.ts): output files are cut back to their checkpoint size.
    for (const FdImage &f : d.image.fds)
      if (f.kind == FD_FILE && (f.flags & O_ACCMODE) != O_RDONLY && truncate(f.path.c_str(), off_t(f.size)) < 0)
        fprintf(stderr, "[driver] truncate %s: %s\n", f.path.c_str(), strerror(errno));
    sleep_ms(gap);
    // A test may break something here (remove a mapped file, ...) to see the restore fail cleanly.
    if (const char *between = getenv("CAIRN_TEST_BETWEEN"))
      if (system(between) != 0) fprintf(stderr, "[driver] CAIRN_TEST_BETWEEN failed\n");

    // Make the last thread's rseq registration fail: a failure after the threads exist.
    if (getenv("CAIRN_TEST_BAD_THREAD") && d.image.threads.size() > 1) d.image.threads.back().rseq_len = 7;
    RestoreRequest req;
    req.image = d.image;
    req.image_path = image;
    req.nsinit_path = nsinit;
    req.restorer_path = restorer;
    req.log_path = image + ".log";
    req.pass_fds = stdio;
    req.env = env;
    // The job's clocks continue from where the checkpoint left them.
    req.mono_offset_ns = d.image.clocks.monotonic_ns - mono_ns();
    timespec bt;
    clock_gettime(CLOCK_BOOTTIME, &bt);
    req.boot_offset_ns = d.image.clocks.boottime_ns - (int64_t(bt.tv_sec) * 1000000000 + bt.tv_nsec);
    const int64_t t2 = mono_ns();
    JobProcessInfo info = restore_process(req);
    const int64_t t3 = mono_ns();
    fprintf(stderr, "[driver] restored host pid %d (ns pid %d) in %.1f ms\n", info.pid, info.ns_pid, (t3 - t2) / 1e6);
    if (feed >= 0) {
      sleep_ms(feed);
      if (write(pp[1], "x", 1) != 1) perror("feed");
    }
    waitpid(info.helper_pid, &st, 0);
    close(info.helper_pidfd);
    fprintf(stderr, "[driver] job ended: status %d\n", helper_status(st));
    return helper_status(st);
  } catch (const std::exception &e) {
    fprintf(stderr, "[driver] %s\n", e.what());
    return 1;
  }
}
