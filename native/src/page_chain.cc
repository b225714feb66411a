// Incremental images: runs in older images, gathered for the restore (page_chain.h).
#include "page_chain.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <map>
#include <stdexcept>
#include <vector>

#include "crc32c.h"
#include "memory.h"
#include "progress.h"

namespace cairn {

namespace {

constexpr uint64_t kPage = 4096;
constexpr size_t kChunk = 8u << 20;

std::string dir_of(const std::string &p) {
  size_t s = p.find_last_of('/');
  return s == std::string::npos ? "." : s == 0 ? "/" : p.substr(0, s);
}

}  // namespace

bool has_page_references(const ProcessImage &img) {
  for (const VmaImage &v : img.vmas)
    for (const PageRun &r : v.runs)
      if (!r.file.empty()) return true;
  return false;
}

void assemble_pages(const std::string &image_path, ProcessImage &img, int fd) {
  const std::string job_dir = dir_of(dir_of(image_path));
  std::map<std::string, int> files;   // path -> descriptor, the image's own included
  auto open_src = [&](const std::string &path, const std::string &why) {
    auto it = files.find(path);
    if (it != files.end()) return it->second;
    int f = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f < 0) throw std::runtime_error("image " + path + why + " cannot be read: " + strerror(errno));
    posix_fadvise(f, 0, 0, POSIX_FADV_SEQUENTIAL);
    files[path] = f;
    return f;
  };
  std::vector<uint8_t> buf(kChunk);
  std::string error;
  try {
    uint64_t at = 4096;   // kPageDataOffset
    for (VmaImage &v : img.vmas)
      for (PageRun &r : v.runs) {
        const bool mine = r.file.empty();
        const std::string src = mine ? image_path : job_dir + "/" + r.file;
        const int sfd = open_src(src, mine ? "" : " (which " + image_path + " refers to)");
        uint64_t from = mine ? r.offset : r.file_offset;
        uint32_t crc = 0;
        for (uint64_t done = 0; done < r.len;) {
          const size_t n = size_t(std::min<uint64_t>(kChunk, r.len - done));
          ssize_t got = pread(sfd, buf.data(), n, off_t(from + done));
          if (got != ssize_t(n)) throw std::runtime_error("image " + src + " is cut short (page run " + std::to_string(r.addr) + ")");
          crc = crc32c(crc, buf.data(), n);
          // Only pages with data are written: the memfd stays sparse, as the image is.
          for (size_t q = 0; fd >= 0 && q < n;) {
            if (zero_page(buf.data() + q)) {
              q += kPage;
              continue;
            }
            size_t e = q + kPage;
            while (e < n && !zero_page(buf.data() + e)) e += kPage;
            if (pwrite(fd, buf.data() + q, e - q, off_t(at + done + q)) != ssize_t(e - q))
              throw std::runtime_error("cannot hold the pages of " + image_path + " in memory: " + strerror(errno ? errno : ENOSPC));
            q = e;
          }
          done += n;
          progress_add(n);
        }
        if (crc != r.crc32c) {
          char c[160];
          snprintf(c, sizeof c, " is damaged: checksum mismatch in page run %#llx+%#llx (stored %08x, read %08x)",
                   (unsigned long long)r.addr, (unsigned long long)r.len, r.crc32c, crc);
          throw std::runtime_error("image " + src + c);
        }
        r.offset = at;
        r.file.clear();
        r.file_offset = 0;
        at += r.len;
      }
    if (fd >= 0 && ftruncate(fd, off_t(at)) < 0) throw std::runtime_error("cannot hold the pages of " + image_path + " in memory: " + strerror(errno));
  } catch (const std::exception &e) {
    error = e.what();
  }
  for (auto &f : files) close(f.second);
  if (!error.empty()) throw std::runtime_error(error);
}

}  // namespace cairn
