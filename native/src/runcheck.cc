#include "runcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "crc32c.h"
#include "huge_buffer.h"

namespace cairn {

namespace {

constexpr uint64_t kChunk = 64u << 20;   // unit of parallel work
constexpr size_t kBuf = 4u << 20;

struct Chunk {
  size_t run;
  uint64_t off, len;   // in the file
  uint32_t crc = 0;
  std::string error;
};

std::string run_at(const PageRun &r) {
  char at[160];
  snprintf(at, sizeof at, "page run %#llx+%#llx at image offset %llu", (unsigned long long)r.addr, (unsigned long long)r.len,
           (unsigned long long)r.offset);
  return at;
}

// crc32c of [off, off + len) of fd: data is read, holes are zeros by arithmetic. Aligned
// stretches are read through `direct` (the file opened O_DIRECT, or -1): not through the page
// cache, which a restart reading the pages next has no use for (it reads them O_DIRECT too),
// and whose fresh pages cost more here than the disk itself. `buf` is page-aligned.
std::string crc_range(int fd, int direct, uint64_t off, uint64_t len, uint8_t *buf, size_t cap, uint32_t &crc) {
  const uint64_t end = off + len;
  for (uint64_t pos = off; pos < end;) {
    off_t d = lseek(fd, off_t(pos), SEEK_DATA);
    uint64_t data = d < 0 ? end : std::min<uint64_t>(uint64_t(d), end);   // ENXIO: holes to EOF
    if (d < 0 && errno != ENXIO) data = pos;                              // no SEEK_DATA: read it all
    if (data > pos) {
      crc = crc32c_zeros(crc, data - pos);
      pos = data;
      if (pos >= end) break;
    }
    off_t h = lseek(fd, off_t(pos), SEEK_HOLE);
    uint64_t hole = h < 0 ? end : std::min<uint64_t>(uint64_t(h), end);
    while (pos < hole) {
      size_t want = size_t(std::min<uint64_t>(cap, hole - pos));
      const bool aligned = direct >= 0 && pos % 4096 == 0 && want % 4096 == 0;
      ssize_t n = pread(aligned ? direct : fd, buf, want, off_t(pos));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && aligned && errno == EINVAL) {
        direct = -1;   // the file system wants another alignment: buffered from here on
        continue;
      }
      if (n < 0) return strerror(errno);
      if (n == 0) return "cut short";
      crc = crc32c(crc, buf, size_t(n));
      pos += uint64_t(n);
    }
  }
  return "";
}

}  // namespace

std::string check_runs(int fd, const std::vector<const PageRun *> &runs, unsigned threads) {
  struct stat st;
  if (fstat(fd, &st) < 0) return std::string("cannot stat: ") + strerror(errno);
  std::vector<Chunk> chunks;
  for (size_t i = 0; i < runs.size(); i++) {
    const PageRun &r = *runs[i];
    if (r.offset + r.len > uint64_t(st.st_size)) return "is cut short: " + run_at(r);
    for (uint64_t o = 0; o < r.len || (o == 0 && r.len == 0); o += kChunk) {
      chunks.push_back(Chunk{i, r.offset + o, std::min<uint64_t>(kChunk, r.len - o), 0, ""});
      if (r.len == 0) break;
    }
  }
  const int direct = open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);   // -1: buffered
  struct CloseDirect {
    int fd;
    ~CloseDirect() {
      if (fd >= 0) close(fd);
    }
  } close_direct{direct};
  std::atomic<size_t> next{0};
  auto work = [&] {
    HugeBuffer buf(kBuf);
    for (size_t k; (k = next++) < chunks.size();)
      chunks[k].error = buf.p ? crc_range(fd, direct, chunks[k].off, chunks[k].len, buf.p, kBuf, chunks[k].crc) : "out of memory";
  };
  std::vector<std::thread> pool;
  const unsigned nt = std::max(1u, std::min<unsigned>(threads, unsigned(chunks.size())));
  for (unsigned t = 1; t < nt; t++) pool.emplace_back(work);
  work();
  for (std::thread &t : pool) t.join();
  // Chunks are in run order: combine each run's chunks, first bad run wins.
  for (size_t k = 0; k < chunks.size();) {
    const size_t i = chunks[k].run;
    const PageRun &r = *runs[i];
    uint32_t crc = 0;
    for (; k < chunks.size() && chunks[k].run == i; k++) {
      if (!chunks[k].error.empty())
        return (chunks[k].error == "cut short" ? "is cut short: " : "cannot be read (" + chunks[k].error + "): ") + run_at(r);
      crc = crc32c_combine(crc, chunks[k].crc, chunks[k].len);
    }
    if (crc != r.crc32c) {
      char c[64];
      snprintf(c, sizeof c, " (stored %08x, read %08x)", r.crc32c, crc);
      return "is damaged: checksum mismatch in " + run_at(r) + c;
    }
  }
  return "";
}

}  // namespace cairn
