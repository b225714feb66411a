// Starting cairn-nsinit and the pid discovery handshake. Runs on the engine thread.
#include "namespaces.h"
#include "monotonic.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdexcept>

namespace cairn {

namespace {

std::string errstr(int e) { return strerror(e); }

void close_fd(int &fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

int helper_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 255;
}

NsinitProcess spawn_nsinit(const std::string &nsinit_path, const std::vector<std::string> &args,
                           const std::vector<int> &fds, const std::vector<std::string> &env, const std::string &cwd) {
  if (args.empty()) throw std::runtime_error("nsinit: no mode given");
  if (access(nsinit_path.c_str(), X_OK) < 0)
    throw std::runtime_error("cannot run " + nsinit_path + ": " + errstr(errno));

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    throw std::runtime_error(std::string("socketpair for nsinit: ") + errstr(errno));
  int one = 1;
  setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);

  // Everything the child needs is prepared here: between fork and execve only
  // async-signal-safe system calls may run (the agent is multi-threaded).
  const int n = int(fds.size());
  std::vector<int> tmp;   // high, close-on-exec copies, so dup2 into 0..n never clobbers a source
  auto cleanup_tmp = [&] {
    for (int t : tmp) close(t);
    tmp.clear();
  };
  for (int i = 0; i <= n; i++) {
    int src = i < n ? fds[i] : sv[1];
    int t = fcntl(src, F_DUPFD_CLOEXEC, n + 1);
    if (t < 0) {
      int e = errno;
      cleanup_tmp();
      close(sv[0]);
      close(sv[1]);
      throw std::runtime_error("nsinit: descriptor " + std::to_string(src) + " for fd " + std::to_string(i) + ": " +
                               errstr(e));
    }
    tmp.push_back(t);
  }
  std::vector<std::string> argstr;
  argstr.push_back("cairn-nsinit");
  argstr.push_back(args[0]);
  argstr.push_back("--sock");
  argstr.push_back(std::to_string(n));
  for (size_t i = 1; i < args.size(); i++) argstr.push_back(args[i]);
  std::vector<char *> argv, envp;
  for (auto &s : argstr) argv.push_back(const_cast<char *>(s.c_str()));
  argv.push_back(nullptr);
  for (auto &s : env) envp.push_back(const_cast<char *>(s.c_str()));
  envp.push_back(nullptr);
  const char *path = nsinit_path.c_str();
  const char *dir = cwd.empty() ? nullptr : cwd.c_str();

  pid_t pid = fork();
  if (pid == 0) {
    // No PDEATHSIG: a job outlives an agent that dies (its processes run on, unmanaged,
    // as the other hosts' do after the aborted checkpoint); nsinit_abort ends it on purpose.
    for (int i = 0; i <= n; i++)
      if (dup2(tmp[i], i) < 0) _exit(126);
    if (dir && chdir(dir) < 0) {
      static const char msg[] = "cairn: cannot chdir to the job's working directory\n";
      if (write(2, msg, sizeof msg - 1) < 0) {}
      _exit(126);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);   // node blocks some signals in its threads
    execve(path, argv.data(), envp.data());
    _exit(127);
  }
  int fork_errno = errno;
  cleanup_tmp();
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    throw std::runtime_error("fork for nsinit: " + errstr(fork_errno));
  }
  NsinitProcess p;
  p.helper_pid = pid;
  p.sock = sv[0];
  // Our own child cannot be reaped by anyone else: the pid is still ours to open.
  p.helper_pidfd = int(syscall(SYS_pidfd_open, pid, 0));
  if (p.helper_pidfd < 0) {
    int e = errno;
    nsinit_abort(p);
    throw std::runtime_error("pidfd_open(nsinit " + std::to_string(pid) + "): " + errstr(e));
  }
  return p;
}

namespace {

// One message with its sender's host pid (SCM_CREDENTIALS, translated by the kernel).
// Returns 1 with tag/pid, 0 on EOF, -errno on error.
int recv_tagged(int sock, char &tag, pid_t &pid) {
  char c = 0;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(ucred))];
  iovec iov = {&c, 1};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  ssize_t r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  if (r < 0) return -errno;
  if (r == 0) return 0;
  tag = c;
  pid = -1;
  for (cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) {
      ucred u;
      memcpy(&u, CMSG_DATA(cm), sizeof u);
      pid = u.pid;
    }
  return 1;
}

std::string helper_death(NsinitProcess &p) {
  int st = 0;
  pid_t r = 0;
  // The socket closes a moment before the exit is reapable: wait a little for the status.
  for (int i = 0; i < 1000 && r == 0; i++) {
    r = waitpid(p.helper_pid, &st, WNOHANG);
    if (r == 0) {
      timespec ts = {0, 1000000};
      nanosleep(&ts, nullptr);
    }
  }
  if (r == p.helper_pid) {
    p.helper_pid = -1;   // reaped: nsinit_abort must not touch it again
    return "cairn-nsinit exited with status " + std::to_string(helper_status(st)) +
           " before the job started (see the job's stderr)";
  }
  return "cairn-nsinit closed its socket before the job started";
}

}  // namespace

void nsinit_handshake(NsinitProcess &p, int timeout_ms) {
  const int64_t deadline = mono_ms() + timeout_ms;
  while (p.init_pid < 0 || p.child_pid < 0) {
    pollfd pf[2] = {{p.sock, POLLIN, 0}, {p.helper_pidfd, POLLIN, 0}};
    int64_t left = deadline - mono_ms();
    if (left <= 0) throw std::runtime_error("cairn-nsinit did not start the job within " +
                                            std::to_string(timeout_ms / 1000) + " s");
    int r = poll(pf, 2, int(left));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("poll on nsinit socket: " + errstr(errno));
    }
    if (r == 0) continue;
    if (pf[0].revents & POLLIN) {
      char tag = 0;
      pid_t pid = -1;
      int m = recv_tagged(p.sock, tag, pid);
      if (m < 0) throw std::runtime_error("nsinit socket: " + errstr(-m));
      if (m == 0) throw std::runtime_error(helper_death(p));
      if (pid <= 0) throw std::runtime_error("nsinit message without credentials");
      if (tag == 'I')
        p.init_pid = pid;
      else if (tag == 'C')
        p.child_pid = pid;
      else
        throw std::runtime_error(std::string("unexpected nsinit message '") + tag + "'");
      continue;
    }
    if (pf[0].revents & (POLLHUP | POLLERR)) throw std::runtime_error(helper_death(p));
    if (pf[1].revents & POLLIN) {
      // nsinit died; a message may still be queued, but without a job it is no use.
      throw std::runtime_error(helper_death(p));
    }
  }
}

void nsinit_go(NsinitProcess &p) {
  char g = 'G';
  ssize_t r;
  do r = send(p.sock, &g, 1, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  int e = errno;
  close_fd(p.sock);
  if (r != 1) throw std::runtime_error("cannot release the job process (nsinit socket): " + errstr(e));
}

void nsinit_abort(NsinitProcess &p) {
  close_fd(p.sock);
  if (p.helper_pid > 0) {
    if (p.helper_pidfd >= 0)
      syscall(SYS_pidfd_send_signal, p.helper_pidfd, SIGKILL, nullptr, 0);
    else
      kill(p.helper_pid, SIGKILL);
    // The namespace's init has PDEATHSIG on nsinit: it dies and takes the job with it.
    // A traced job process would block init's exit; callers detach before aborting.
    int st;
    while (waitpid(p.helper_pid, &st, 0) < 0 && errno == EINTR) {}
    p.helper_pid = -1;
  }
  close_fd(p.helper_pidfd);
}

}  // namespace cairn
