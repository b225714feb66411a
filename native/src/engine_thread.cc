#include "engine_thread.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdexcept>

#include "namespaces.h"
#include "threads.h"

namespace cairn {

EngineThread::EngineThread() {
  efd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd_ < 0) throw std::runtime_error(std::string("eventfd: ") + strerror(errno));
  // Signals are node's business: the engine thread blocks them all, so a SIGCHLD from a
  // helper never lands here and poll/waitpid are not interrupted.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    th_ = std::thread([this] { loop(); });
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    close(efd_);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

EngineThread::~EngineThread() {
  stop();
  if (efd_ >= 0) close(efd_);
}

void EngineThread::post(Task t) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(t));
      uint64_t one = 1;
      if (write(efd_, &one, sizeof one) < 0) {}   // EAGAIN: the counter is already non-zero
      return;
    }
  }
  t.cancel("the engine is closed");
}

void EngineThread::stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (stopped_) return;
    stopping_ = true;
    uint64_t one = 1;
    if (write(efd_, &one, sizeof one) < 0) {}
  }
  if (th_.joinable()) th_.join();
  std::lock_guard<std::mutex> g(mu_);
  stopped_ = true;
}

void EngineThread::add_helper(pid_t pid, int pidfd, pid_t init_pid) {
  Helper h;
  h.pidfd = pidfd;
  h.init_pid = init_pid;
  helpers_[pid] = std::move(h);
}

void EngineThread::wait_helper(pid_t pid, ExitWaiter w) {
  Helper &h = helpers_.at(pid);
  if (h.exited) {
    w(h.status, nullptr);
    return;
  }
  h.waiters.push_back(std::move(w));
}

bool EngineThread::poll_helper(pid_t pid, Helper &h) {
  if (h.exited) return true;
  int st = 0;
  pid_t r = waitpid(pid, &st, WNOHANG);
  if (r == 0) return false;
  h.exited = true;
  // ECHILD: someone else reaped it (should not happen); report it as lost.
  h.status = r == pid ? helper_status(st) : 255;
  if (h.pidfd >= 0) close(h.pidfd);
  h.pidfd = -1;
  auto waiters = std::move(h.waiters);
  h.waiters.clear();
  for (auto &w : waiters) w(h.status, nullptr);
  return true;
}

bool EngineThread::reap_helper(pid_t pid, int timeout_ms) {
  auto it = helpers_.find(pid);
  if (it == helpers_.end()) return false;
  for (int waited = 0;; waited++) {
    if (poll_helper(pid, it->second)) return true;
    if (waited >= timeout_ms) return false;
    timespec ts = {0, 1000000};
    nanosleep(&ts, nullptr);
  }
}

void EngineThread::loop() {
  for (;;) {
    std::vector<pollfd> pfds;
    std::vector<pid_t> pids;
    pfds.push_back(pollfd{efd_, POLLIN, 0});
    for (auto &[pid, h] : helpers_)
      if (!h.exited && h.pidfd >= 0) {
        pfds.push_back(pollfd{h.pidfd, POLLIN, 0});
        pids.push_back(pid);
      }
    int r = poll(pfds.data(), pfds.size(), -1);
    if (r < 0 && errno != EINTR) break;   // cannot happen with valid fds; do not spin
    for (size_t i = 1; i < pfds.size(); i++)
      if (pfds[i].revents) poll_helper(pids[i - 1], helpers_[pids[i - 1]]);
    uint64_t v;
    if (read(efd_, &v, sizeof v) < 0) {}
    for (;;) {
      Task t;
      {
        std::lock_guard<std::mutex> g(mu_);
        if (stopping_ || queue_.empty()) break;
        t = std::move(queue_.front());
        queue_.pop_front();
      }
      t.run();   // tasks catch their own exceptions
    }
    std::lock_guard<std::mutex> g(mu_);
    if (stopping_) break;
  }
  // Stopping: answer everything still waiting.
  std::deque<Task> rest;
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = true;
    rest.swap(queue_);
  }
  for (auto &t : rest) t.cancel("the engine is closed");
  const std::string closed = "the engine is closed";
  for (auto &[pid, h] : helpers_) {
    for (auto &w : h.waiters) w(-1, &closed);
    h.waiters.clear();
  }
  // Detach what is still frozen, then end the jobs: they would die anyway when this thread
  // exits (PR_SET_PDEATHSIG), but reaping their helpers here leaves no zombie behind.
  for (auto &[pid, tr] : traced) detach_threads(tr.tids);
  traced.clear();
  // Killing init (not nsinit) lets nsinit reap it, so no orphan is left to the host's PID 1.
  for (auto &[pid, h] : helpers_)
    if (!h.exited && h.init_pid > 0) kill(h.init_pid, SIGKILL);
  for (auto &[pid, h] : helpers_) {
    if (!h.exited && !reap_helper(pid, 2000)) {
      if (h.pidfd >= 0) syscall(SYS_pidfd_send_signal, h.pidfd, SIGKILL, nullptr, 0);
      int st;
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
      h.exited = true;
    }
    if (h.pidfd >= 0) close(h.pidfd);
    h.pidfd = -1;
  }
}

}  // namespace cairn
