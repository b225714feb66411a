// Starting cairn-nsinit (launch or restore mode) from the engine thread, and the pid
// discovery handshake on its SOCK_SEQPACKET socket (see docs/ENGINE.md, "cairn-nsinit").
#pragma once
#include <sys/types.h>
#include <string>
#include <vector>

namespace cairn {

struct NsinitProcess {
  pid_t helper_pid = -1;   // nsinit itself, a child of the agent
  int helper_pidfd = -1;   // pidfd of helper_pid (owned by this struct until taken)
  int sock = -1;           // agent end of the socket (SO_PASSCRED set)
  pid_t init_pid = -1;     // host pid of the namespace's PID 1 ('I')
  pid_t child_pid = -1;    // host pid of the job process it created ('C')
};

// fork + execve of nsinit. `fds[i]` (an agent descriptor) becomes descriptor i of nsinit;
// the socket gets descriptor fds.size(), and "--sock N" is inserted after args[0] (the mode),
// so args = { "launch", "--", "/bin/prog", ... } or { "restore", "--pid", "2", ... }.
// The child does chdir(cwd)
// (empty: unchanged) before execve; nothing else runs between fork and exec.
NsinitProcess spawn_nsinit(const std::string &nsinit_path, const std::vector<std::string> &args,
                           const std::vector<int> &fds, const std::vector<std::string> &env, const std::string &cwd);

// Waits for 'I' (init) and then 'C' (the job process) and records their host pids.
// Throws std::runtime_error (naming nsinit's exit status if it died) on failure or timeout.
void nsinit_handshake(NsinitProcess &p, int timeout_ms = 10000);

// Sends 'G' (the job process may go on) and closes the agent's end of the socket.
void nsinit_go(NsinitProcess &p);

// Failure path: SIGKILL the helper (its namespace dies with it), reap it, close everything.
void nsinit_abort(NsinitProcess &p);

// Exit status of a reaped helper as waitExit reports it: exit code, or 128 + signal.
int helper_status(int wait_status);

}  // namespace cairn
