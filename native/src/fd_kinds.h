// Descriptor and memory kinds beyond plain files: eventfd, timerfd, signalfd, epoll, inotify,
// memfds, deleted-but-open files, shared anonymous memory, and file locks. Dump side only;
// plan.cc turns the result into plan tables and restorer_fds.c rebuilds them.
#pragma once
#include <sys/stat.h>
#include <sys/types.h>
#include <cstdint>
#include <string>
#include <vector>

#include "image.h"
#include "memory.h"

namespace cairn {

// Fills f for an anon_inode descriptor, a memfd or a deleted file (kind and kind fields).
// Returns false when target is none of those. Throws naming pid and fd when it is one
// cairn cannot save (an epoll registration of a descriptor closed since, ...).
bool dump_fd_kind(pid_t pid, FdImage &f, const std::string &target, const std::string &fdinfo,
                  const struct stat &st);

// "lock:" lines of an fdinfo: flock, POSIX and OFD locks held through this descriptor.
void dump_fd_locks(pid_t pid, FdImage &f, const std::string &fdinfo);

// After every descriptor and cwd/exe/argv are known: epoll targets must be descriptors of
// the image, inotify watches get a path. Throws naming pid and fd.
void finish_fds(pid_t pid, ProcessImage &img, const std::vector<MapEntry> &maps);

// img.fds and img.vmas of shared files -> img.shared_files with their contents appended to
// the image from offset `off` (page aligned). Returns the first byte after them.
uint64_t dump_shared_files(pid_t pid, int image_fd, uint64_t off, ProcessImage &img);

// img.fds of pipes -> img.pipes (one per pipe, whichever ends the process holds) with the
// bytes in flight appended to the image from `off`. Returns the first byte after them.
uint64_t dump_pipes(pid_t pid, int image_fd, uint64_t off, ProcessImage &img);

// The contents of every tmpfs file (/dev/shm ...) the process maps MAP_SHARED, appended to
// the image from `off` (data regions, whole pages). Returns the new end.
uint64_t dump_tmpfs_files(pid_t pid, int image_fd, uint64_t off, ProcessImage &img);

// Before the restorers run: each saved tmpfs file written back to its path (created when
// missing), from the first image that has it. Throws naming the file.
void restore_tmpfs_files(const std::vector<const ProcessImage *> &procs, const std::vector<std::string> &image_paths);

}  // namespace cairn
