// The one native thread that owns every ptrace request and every waitpid of the agent's jobs
// (ptrace belongs to the thread that attached). Calls are queued to it and woken with an
// eventfd; beside that eventfd it polls the pidfds of the nsinit helpers it started, so that
// waitExit needs no thread of its own and no waitpid(-1).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cairn {

class EngineThread {
 public:
  struct Task {
    std::function<void()> run;                          // on the engine thread
    std::function<void(const std::string &)> cancel;    // instead of run when the engine stops
  };
  // status >= 0: the helper's exit status; otherwise *error says why there is none.
  using ExitWaiter = std::function<void(int status, const std::string *error)>;

  EngineThread();
  ~EngineThread();   // stop()
  EngineThread(const EngineThread &) = delete;
  EngineThread &operator=(const EngineThread &) = delete;

  // Any thread. After stop(), the task is cancelled at once on the calling thread.
  void post(Task t);
  // Stops and joins the thread; queued tasks and exit waiters are cancelled on it.
  // Tracees still attached are detached by the kernel when the thread exits, and jobs'
  // helpers die with it (PR_SET_PDEATHSIG is tied to this thread).
  void stop();

  // --- engine thread only ---
  void add_helper(pid_t pid, int pidfd, pid_t init_pid);   // takes the pidfd
  bool knows_helper(pid_t pid) const { return helpers_.count(pid) != 0; }
  void wait_helper(pid_t pid, ExitWaiter w);   // caller checked knows_helper
  // Reaps the helper if it has exited within timeout_ms (answering its waiters); true if so.
  bool reap_helper(pid_t pid, int timeout_ms);

  struct Traced {
    std::vector<pid_t> tids;   // host tids, leader first, all in a ptrace stop
    uint64_t pidns = 0;        // inode of its PID namespace (which job it belongs to)
  };
  std::map<pid_t, Traced> traced;

 private:
  struct Helper {
    int pidfd = -1;
    pid_t init_pid = 0;   // its namespace's PID 1 (host pid)
    bool exited = false;
    int status = 0;
    std::vector<ExitWaiter> waiters;
  };
  void loop();
  bool poll_helper(pid_t pid, Helper &h);   // waitpid WNOHANG; answers waiters when reaped

  int efd_ = -1;
  std::mutex mu_;
  std::deque<Task> queue_;
  bool stopping_ = false, stopped_ = false;
  std::map<pid_t, Helper> helpers_;
  std::thread th_;
};

}  // namespace cairn
