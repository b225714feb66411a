// Pseudo-terminals made inside a job (/dev/ptmx masters and their /dev/pts/N slaves), as
// Open MPI's mpirun gives each local rank one for its stdout. The process holding the
// master saves the pair: mode, size and the slave's output the master has not read yet.
// At restart the agent makes every pair again (the kernel gives a new number) and passes
// each end to the processes that held it.
#pragma once
#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "image.h"
#include "job_objects.h"

namespace cairn {

// /dev/ptmx or /dev/pts/N: sets f.kind = FD_PTY, pty_index, pty_master. False for anything else.
bool dump_pty_fd(FdImage &f, const std::string &fdinfo, const struct stat &st);

// The pairs whose master pid holds, their bytes written to image_fd from off (taken out of
// the master and put back at once, while the job is frozen). Returns the new end offset.
uint64_t dump_ptys(pid_t pid, int image_fd, uint64_t off, ProcessImage &img);

// Makes every pair of the job again and lists each end for the processes holding it.
void make_ptys(const std::vector<const ProcessImage *> &procs, const std::vector<std::string> &image_paths, JobObjects &out);

// What make_ptys would refuse (a slave whose master is outside the job), at checkpoint time.
void check_ptys(const std::vector<const ProcessImage *> &procs);

}  // namespace cairn
