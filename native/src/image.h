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

struct ThreadImage {
  int32_t tid = 0;
  std::vector<uint8_t> regs;     // struct user_regs_struct, raw, not fixed up
  std::vector<uint8_t> xstate;   // NT_X86_XSTATE, kernel-sized
  uint64_t sigmask = 0, clear_child_tid = 0, robust_list = 0, robust_list_len = 0, rseq_ptr = 0;
  uint32_t rseq_len = 0, rseq_sig = 0;
  uint64_t altstack_sp = 0, altstack_size = 0;
  int32_t altstack_flags = 2;    // SS_DISABLE
};

enum VmaKind : uint32_t { VMA_ANON = 0, VMA_FILE_PRIVATE = 1, VMA_FILE_SHARED = 2, VMA_STACK = 3 };

struct FileIdentity {
  uint64_t dev = 0, ino = 0, size = 0;
  int64_t mtime_ns = 0;
};

struct PageRun {
  uint64_t addr = 0, len = 0, offset = 0;
  uint32_t crc32c = 0;
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
};

enum FdKind : uint32_t { FD_FILE = 0, FD_INHERITED = 1, FD_DEVNULL = 2, FD_DIRECTORY = 3 };

struct FdImage {
  int32_t fd = 0;
  FdKind kind = FD_FILE;
  std::string path;
  uint32_t flags = 0;
  bool cloexec = false;
  uint64_t pos = 0, size = 0;
  FileIdentity file;
  uint32_t inherited_index = 0;
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
};

}  // namespace cairn
