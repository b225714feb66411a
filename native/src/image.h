// In-memory form of one ProcessImage (protos/image.proto), shared by every part of the
// engine. image_js.cc converts it to and from the JS object the agent encodes with
// protobufjs; dump fills it, plan/restore consume it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cairn {

constexpr uint32_t kImageFormatVersion = 1;
constexpr uint64_t kPageDataOffset = 4096;   // page data starts here in the image file

struct MmState {
  uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0, start_brk = 0, brk = 0,
           start_stack = 0, arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
};

struct SpecialMappings {
  uint64_t vvar_start = 0, vvar_end = 0, vvar_vclock_start = 0, vvar_vclock_end = 0, vdso_start = 0,
           vdso_end = 0;
};

// A pending signal with its siginfo_t (128 bytes), as PTRACE_PEEKSIGINFO gave it.
struct PendingSignal {
  int32_t sig = 0;
  std::vector<uint8_t> siginfo;
};

struct ThreadImage {
  int32_t tid = 0;
  std::vector<uint8_t> regs;     // struct user_regs_struct, raw, not fixed up
  std::vector<uint8_t> xstate;   // NT_X86_XSTATE, kernel-sized
  uint64_t sigmask = 0, clear_child_tid = 0, robust_list = 0, robust_list_len = 0, rseq_ptr = 0;
  uint32_t rseq_len = 0, rseq_sig = 0;
  uint64_t altstack_sp = 0, altstack_size = 0;
  int32_t altstack_flags = 2;    // SS_DISABLE
  std::vector<PendingSignal> pending;   // this thread's own pending signals, queue order
  std::vector<uint8_t> cpu_affinity;    // empty: not saved
  int32_t nice = 0;
  std::string comm;
  bool no_new_privs = false;
  uint32_t sched_policy = 0, sched_priority = 0;   // sched_getattr
  bool sched_reset_on_fork = false;
  uint64_t timerslack_ns = 0;                       // 0: not saved (or a real-time thread's)
};

enum VmaKind : uint32_t { VMA_ANON = 0, VMA_FILE_PRIVATE = 1, VMA_FILE_SHARED = 2, VMA_STACK = 3, VMA_SHARED_FILE = 4, VMA_SYSV_SHM = 5 };

// VmaImage::flags (image.proto Vma.flags), from the VmFlags of /proc/PID/smaps.
// kVmaSysvRmid is cairn's: a SysV segment marked for deletion (set by the agent from cairn-ipc).
constexpr uint32_t kVmaGrowsdown = 1, kVmaDontfork = 2, kVmaDontdump = 4, kVmaWipeonfork = 8, kVmaSysvRmid = 16,
                   kVmaHugepage = 32, kVmaNohugepage = 64, kVmaNoreserve = 128, kVmaFlagsAll = 255;

struct FileIdentity {
  uint64_t dev = 0, ino = 0, size = 0;
  int64_t mtime_ns = 0;
};

// How a process's VMA page data is stored (image.proto PageCodec). Zero pages are never
// stored: holes in the file (none), left out of the frames (zstd, gzip).
enum PageCodec : uint32_t { CODEC_NONE = 0, CODEC_ZSTD = 1, CODEC_GZIP = 2 };

// One compressed frame of VMA page data: a dump batch starting at `logical` (the offset the
// page runs refer to), stored at [offset, offset + length) of the file (pagecodec.h).
struct PageFrame {
  uint64_t logical = 0, offset = 0, length = 0, raw_length = 0;
};

struct PageRun {
  PageRun() = default;
  PageRun(uint64_t a, uint64_t l, uint64_t o, uint32_t c) : addr(a), len(l), offset(o), crc32c(c) {}
  uint64_t addr = 0, len = 0, offset = 0;
  uint32_t crc32c = 0;
  // Incremental images: a run whose bytes are in an older image, `file` (relative to the job
  // directory) at `file_offset`; "" = this image, at `offset`.
  std::string file;
  uint64_t file_offset = 0;
  std::vector<uint32_t> page_crcs;   // crc32c of each page (VMA runs of uncompressed images)
  // Dump only (not in the image): already stored in this image, at `offset`, by the copy made
  // before the freeze (precopy.h); copy_memory leaves it as it is.
  bool in_place = false;
};

struct VmaImage {
  uint64_t start = 0, end = 0;
  uint32_t prot = 0;
  VmaKind kind = VMA_ANON;
  std::string path;
  uint64_t pgoff = 0;
  FileIdentity file;
  std::vector<PageRun> runs;
  std::string name;
  uint32_t shared_file = 0;   // VMA_SHARED_FILE: index + 1 into ProcessImage::shared_files
  uint32_t flags = 0;         // kVma* bits
  int32_t sysv_shmid = 0;     // VMA_SYSV_SHM
};

enum FdKind : uint32_t {
  FD_FILE = 0, FD_INHERITED = 1, FD_DEVNULL = 2, FD_DIRECTORY = 3,
  FD_EVENTFD = 4, FD_TIMERFD = 5, FD_SIGNALFD = 6, FD_EPOLL = 7, FD_INOTIFY = 8, FD_SHARED_FILE = 9,
  FD_PIPE = 10, FD_SOCKET = 11, FD_PTY = 12,
  FD_KIND_LAST = FD_PTY
};

struct EpollTarget {
  int32_t tfd = 0;
  uint32_t events = 0;
  uint64_t data = 0;
};

struct InotifyWatch {
  int32_t wd = 0;
  uint32_t mask = 0;
  std::string path;
  uint64_t ino = 0, dev = 0;
};

enum LockKind : uint32_t { LOCK_FLOCK = 0, LOCK_POSIX = 1, LOCK_OFD = 2 };

struct FileLock {
  LockKind kind = LOCK_FLOCK;
  bool write = false;
  uint64_t start = 0, len = 0;   // len 0: to the end of the file
};

enum SharedFileKind : uint32_t { SHARED_MEMFD = 0, SHARED_DELETED = 1, SHARED_ANON = 2 };

struct SharedFile {
  SharedFileKind kind = SHARED_MEMFD;
  std::string name;
  uint64_t size = 0;
  uint32_t seals = 0, mode = 0600;
  FileIdentity file;
  std::vector<PageRun> runs;   // addr = offset in the file
};

struct FdImage {
  int32_t fd = 0;
  FdKind kind = FD_FILE;
  std::string path;
  uint32_t flags = 0;
  bool cloexec = false;
  uint64_t pos = 0, size = 0;
  FileIdentity file;
  uint32_t inherited_index = 0;
  uint64_t eventfd_count = 0;
  bool eventfd_semaphore = false;
  int32_t timerfd_clockid = 0;
  uint64_t timerfd_ticks = 0;
  uint32_t timerfd_settime_flags = 0;
  int64_t timerfd_value_ns = 0, timerfd_interval_ns = 0;
  uint64_t signalfd_mask = 0;
  std::vector<EpollTarget> epoll_targets;
  std::vector<InotifyWatch> inotify_watches;
  uint32_t shared_file = 0;   // FD_SHARED_FILE: index + 1 into ProcessImage::shared_files
  std::vector<FileLock> locks;
  uint32_t pipe = 0;          // FD_PIPE: index + 1 into ProcessImage::pipes
  uint32_t ofd = 0;           // job-wide open file description id (0: unknown)
  uint32_t socket = 0;        // FD_SOCKET: index + 1 into ProcessImage::sockets
  uint32_t pty_index = 0;     // FD_PTY: N of /dev/pts/N at checkpoint
  bool pty_master = false;    // FD_PTY: the master end
};

struct ZombieImage {
  int32_t ns_pid = 0, status = 0, ns_pgid = 0, ns_sid = 0;
  std::string comm;
};

struct TmpfsFile {
  std::string path;
  FileIdentity file;
  uint64_t size = 0;
  uint32_t mode = 0;
  std::vector<PageRun> runs;
};

struct PtyImage {
  uint32_t index = 0;          // N of /dev/pts/N at checkpoint
  bool locked = false;
  bool packet = false;
  std::vector<uint8_t> termios, winsize;
  uint64_t bytes = 0;          // the slave's output not yet read by the master
  std::vector<PageRun> runs;   // addr = offset in the stream
};

struct PipeImage {
  FileIdentity file;           // dev/ino of the pipe inode
  uint32_t capacity = 0;
  bool packet = false;
  uint64_t bytes = 0;
  std::vector<PageRun> runs;   // addr = offset in the stream
  std::string path;            // a FIFO's path ("" = anonymous pipe)
};

enum SocketState : uint32_t { SOCKET_UNBOUND = 0, SOCKET_PAIR = 1, SOCKET_LISTEN = 2, SOCKET_BOUND = 3 };

struct SockOpt {
  int32_t level = 0, name = 0, value = 0;
};

// One socket inode (image.proto Socket; dump in sockets.cc).
struct SocketImage {
  uint64_t ino = 0;
  uint32_t family = 0, type = 0, protocol = 0;
  SocketState state = SOCKET_UNBOUND;
  uint64_t peer_ino = 0;
  std::vector<uint8_t> name, peer_name;   // raw sockaddr
  uint32_t backlog = 0, pending = 0, shutdown = 0;
  int32_t peek_off = -1;
  std::vector<SockOpt> opts;
  uint64_t bytes = 0;
  std::vector<PageRun> runs;   // stream: the bytes; datagram/seqpacket: one run per message
  FileIdentity file;           // UNIX path socket: the socket file
  uint32_t mode = 0;
  bool outside = false;        // a connection to outside the job: comes back closed
  std::string notes_peer;      // dump only: the outside peer, for the note
  uint64_t listener_ino = 0;   // a UNIX client waiting in that job listener's backlog
  std::vector<uint64_t> pending_clients;   // UNIX listener: its backlog in order (0: a client outside the job)
  std::vector<std::vector<uint8_t>> senders;   // UDP: each queued datagram's sender (one per run)
  std::string remote_conn;      // a TCP connection to the job on another host: its id ("a|b")
  bool remote_listen = false;  // this end listens when it is made again (its address is "a")
};

struct SigActionImage {
  int32_t sig = 0;
  uint64_t handler = 0, flags = 0, restorer = 0, mask = 0;
};

struct RlimitImage {
  int32_t resource = 0;
  uint64_t cur = 0, max = 0;
};

struct Clocks {
  int64_t monotonic_ns = 0, boottime_ns = 0, realtime_ns = 0;
};

struct Itimer {
  int32_t which = 0;   // ITIMER_REAL/VIRTUAL/PROF
  int64_t value_us = 0, interval_us = 0;
};

struct PosixTimer {
  int32_t id = 0, clock = 0, signo = 0, notify = 0, notify_tid = 0;
  uint64_t sigval = 0;
  int64_t value_ns = 0, interval_ns = 0;
  int32_t overrun = 0;
};

struct ProcessImage {
  uint32_t format_version = kImageFormatVersion;
  std::string cairn_version;
  int32_t ns_pid = 0, ns_ppid = 0;
  std::string comm, exe, cwd;
  uint32_t umask = 022;
  std::string hostname;
  MmState mm;
  std::vector<uint8_t> auxv;
  std::vector<ThreadImage> threads;   // leader first
  std::vector<VmaImage> vmas;         // address order
  std::vector<FdImage> fds;
  std::vector<SigActionImage> sigactions;
  std::vector<RlimitImage> rlimits;
  Clocks clocks;
  SpecialMappings special;
  uint64_t pages_bytes = 0;
  std::vector<std::string> argv;
  std::vector<SharedFile> shared_files;
  std::vector<PipeImage> pipes;
  std::vector<ZombieImage> zombies;
  std::vector<SocketImage> sockets;
  std::vector<PtyImage> ptys;
  std::vector<TmpfsFile> tmpfs_files;
  std::vector<std::string> notes;   // what will come back different, for people
  int32_t ns_pgid = 0, ns_sid = 0;
  std::vector<PendingSignal> shared_pending;   // process-wide pending signals, queue order
  std::vector<Itimer> itimers;                 // armed ones only
  std::vector<PosixTimer> posix_timers;
  uint32_t personality = 0;
  bool non_dumpable = false;
  uint64_t sysv_ipc_offset = 0, sysv_ipc_length = 0;   // the job's SysV IPC blob in this image (ipc.h)
  uint32_t sysv_ipc_crc32c = 0;
  // CODEC_NONE: VMA runs' offsets are in this file. Otherwise they are logical offsets into
  // the page data the frames hold; other runs (pipes, shared files ...) are always in the file.
  PageCodec pages_codec = CODEC_NONE;
  std::vector<PageFrame> page_frames;
};

}  // namespace cairn
