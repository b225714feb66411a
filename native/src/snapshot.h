// Copy-on-write snapshot of a frozen process's memory, so that the process can run again
// while its pages are written. Engine thread only (the snapshot is a tracee of ours).
#pragma once
#include <sys/types.h>

#include <functional>
#include <string>

namespace cairn {

// Host tid of a frozen process's leader (0 if that process is not frozen by us).
using LeaderOf = std::function<pid_t(pid_t pid)>;

// Makes a process whose memory is `pid`'s at this moment, with nothing else of it: no
// descriptors, no threads but one that never runs (if it is ever let go, it exits), a child
// of the job's PID 1 (`reaper`, host pid), traced by us. Inside `pid`, no trace stays: the
// clone it made is reaped by it (wait4 of that pid only, injected), it got no signal, it has
// no new descriptor. Returns the snapshot's host pid, or 0 with *why_not set when one cannot
// be made here (a subreaper above it in the job, a clone refused by a limit or a seccomp
// filter, ...): the caller then reads the process itself while it is frozen.
pid_t take_snapshot(pid_t pid, pid_t leader, pid_t reaper, const LeaderOf &leader_of, std::string *why_not);

// Kills and reaps the snapshot (PID 1 of the job reaps it for good).
void drop_snapshot(pid_t snapshot);

}  // namespace cairn
