#include "pagecodec.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "crc32c.h"
#include "progress.h"

namespace cairn {

namespace {

constexpr uint64_t kPage = 4096;

std::string err(int e) { return strerror(e); }

int parse_level(const std::string &s, const std::string &whole, int lo, int hi) {
  if (s.empty() || s.size() > 3 || s.find_first_not_of("0123456789") != std::string::npos)
    throw std::runtime_error("'" + whole + "' has no level number after ':'");
  int v = std::stoi(s);
  if (v < lo || v > hi)
    throw std::runtime_error("'" + whole + "': level " + s + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  return v;
}

bool pread_all(int fd, uint8_t *p, size_t n, uint64_t off) {
  while (n) {
    ssize_t r = pread(fd, p, n, off_t(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= size_t(r);
    off += uint64_t(r);
  }
  return true;
}

bool pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off) {
  while (n) {
    ssize_t r = pwrite(fd, p, n, off_t(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= size_t(r);
    off += uint64_t(r);
  }
  return true;
}

// Contexts live as long as their thread: creating a zstd or zlib context per frame costs more
// than compressing a small frame.
struct ZstdC {
  ZSTD_CCtx *c = ZSTD_createCCtx();
  ~ZstdC() { ZSTD_freeCCtx(c); }
};
struct ZstdD {
  ZSTD_DCtx *d = ZSTD_createDCtx();
  ~ZstdD() { ZSTD_freeDCtx(d); }
};

// A frame's payload is its extent table, then the extents' pages: pieces handed to the
// codec one after the other, so that the pages are not copied into one buffer first.
using Pieces = std::vector<std::pair<const uint8_t *, size_t>>;

// The output of one frame: as large as the codec's bound for a whole batch, allocated once
// per thread and never zero-filled. A fresh zero-filled vector per frame cost a page fault and
// a memset per output page: more CPU than zstd itself on compressible memory.
struct FrameOut {
  std::unique_ptr<uint8_t[]> p;
  size_t cap = 0;
  uint8_t *reserve(size_t n) {
    if (n > cap) p.reset(new uint8_t[n]), cap = n;
    return p.get();
  }
};

struct GzipC {
  z_stream z{};
  int level = -1;
  ~GzipC() {
    if (level >= 0) deflateEnd(&z);
  }
};

size_t gzip_frame(int level, const Pieces &in, size_t n, FrameOut &out) {
  static thread_local GzipC g;
  if (g.level != level) {
    if (g.level >= 0) deflateEnd(&g.z);
    g.level = -1;
    memset(&g.z, 0, sizeof g.z);
    // windowBits 15 + 16: a gzip member, so a frame is what `gzip -d` would read.
    if (deflateInit2(&g.z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("gzip: cannot initialise");
    g.level = level;
  } else if (deflateReset(&g.z) != Z_OK) {
    throw std::runtime_error("gzip: cannot reset");
  }
  z_stream &z = g.z;
  const size_t cap = deflateBound(&z, uLong(n)) + 64;
  z.next_out = out.reserve(cap);
  z.avail_out = uInt(cap);
  int r = Z_OK;
  for (size_t i = 0; i < in.size() && r == Z_OK; i++) {
    z.next_in = const_cast<uint8_t *>(in[i].first);
    z.avail_in = uInt(in[i].second);
    r = deflate(&z, i + 1 == in.size() ? Z_FINISH : Z_NO_FLUSH);
  }
  if (r != Z_STREAM_END) throw std::runtime_error("gzip: compression failed");
  return cap - z.avail_out;
}

size_t zstd_frame(int level, const Pieces &in, size_t n, FrameOut &out) {
  static thread_local ZstdC z;
  auto check = [](size_t r) {
    if (ZSTD_isError(r)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(r));
    return r;
  };
  check(ZSTD_CCtx_reset(z.c, ZSTD_reset_session_only));
  check(ZSTD_CCtx_setParameter(z.c, ZSTD_c_compressionLevel, level));
  check(ZSTD_CCtx_setPledgedSrcSize(z.c, n));
  const size_t cap = ZSTD_compressBound(n);
  ZSTD_outBuffer o{out.reserve(cap), cap, 0};
  for (size_t i = 0; i < in.size(); i++) {
    ZSTD_inBuffer b{in[i].first, in[i].second, 0};
    const ZSTD_EndDirective d = i + 1 == in.size() ? ZSTD_e_end : ZSTD_e_continue;
    // out holds the bound of the whole frame: each call takes all of its input.
    size_t left;
    do left = check(ZSTD_compressStream2(z.c, &o, &b, d));
    while (d == ZSTD_e_end ? left != 0 : b.pos < b.size);
  }
  return o.pos;
}

// Decompresses exactly `raw` bytes, or explains why not.
std::string unframe(PageCodec k, const uint8_t *in, size_t n, uint8_t *out, size_t raw) {
  if (k == CODEC_ZSTD) {
    static thread_local ZstdD d;
    size_t r = ZSTD_decompressDCtx(d.d, out, raw, in, n);
    if (ZSTD_isError(r)) return std::string("zstd: ") + ZSTD_getErrorName(r);
    return r == raw ? "" : "zstd: frame has " + std::to_string(r) + " bytes, expected " + std::to_string(raw);
  }
  if (k == CODEC_GZIP) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK) return "gzip: cannot initialise";
    z.next_in = const_cast<uint8_t *>(in);
    z.avail_in = uInt(n);
    z.next_out = out;
    z.avail_out = uInt(raw);
    int r = inflate(&z, Z_FINISH);
    size_t got = raw - z.avail_out;
    inflateEnd(&z);
    if (r != Z_STREAM_END) return std::string("gzip: ") + (z.msg ? z.msg : "data error");
    return got == raw ? "" : "gzip: frame is short";
  }
  return "unknown codec " + std::to_string(unsigned(k));
}

}  // namespace

const char *codec_name(PageCodec k) {
  switch (k) {
    case CODEC_NONE: return "none";
    case CODEC_ZSTD: return "zstd";
    case CODEC_GZIP: return "gzip";
  }
  return "?";
}

Codec parse_codec(const std::string &s) {
  Codec c;
  std::string name = s, level;
  if (size_t colon = s.find(':'); colon != std::string::npos) name = s.substr(0, colon), level = s.substr(colon + 1);
  if (name == "none" && level.empty()) return c;
  if (name == "zstd" || name.empty()) {
    c.kind = CODEC_ZSTD;
    c.level = level.empty() ? 1 : parse_level(level, s, 1, ZSTD_maxCLevel());
  } else if (name == "gzip") {
    c.kind = CODEC_GZIP;
    c.level = level.empty() ? 1 : parse_level(level, s, 1, 9);
  } else {
    throw std::runtime_error("'" + s + "' is not a codec: use zstd[:LEVEL], gzip[:LEVEL] or none");
  }
  return c;
}

unsigned codec_threads() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return unsigned(std::clamp<long>(n, 1, 8));
}

std::pair<const uint8_t *, size_t> compress_frame(const Codec &c, const uint8_t *batch, const std::vector<Extent> &ext) {
  static thread_local std::vector<uint8_t> table;
  table.resize(4 + 8 * ext.size());
  uint8_t *p = table.data();
  uint32_t n = uint32_t(ext.size());
  memcpy(p, &n, 4);
  p += 4;
  Pieces in{{table.data(), table.size()}};
  size_t total = table.size();
  for (const Extent &e : ext) {
    memcpy(p, &e.page, 4);
    memcpy(p + 4, &e.npages, 4);
    p += 8;
    in.emplace_back(batch + size_t(e.page) * kPage, size_t(e.npages) * kPage);
    total += size_t(e.npages) * kPage;
  }
  static thread_local FrameOut out;
  const size_t len = c.kind == CODEC_GZIP ? gzip_frame(c.level, in, total, out) : zstd_frame(c.level, in, total, out);
  return {out.p.get(), len};
}

void decompress_pages(const std::string &image_path, const ProcessImage &img, int fd, unsigned threads) {
  int src = open(image_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) throw std::runtime_error("cannot open image " + image_path + ": " + err(errno));
  posix_fadvise(src, 0, 0, POSIX_FADV_SEQUENTIAL);
  const std::string at = "image " + image_path;
  // Sized to the logical end first: trailing zero pages are a hole, not a short file.
  uint64_t logical_end = kPageDataOffset;
  for (const VmaImage &v : img.vmas)
    for (const PageRun &r : v.runs) logical_end = std::max(logical_end, r.offset + r.len);
  if (ftruncate(fd, off_t(logical_end)) < 0) {
    close(src);
    throw std::runtime_error("cannot hold the pages of " + image_path + " in memory: " + err(errno));
  }
  // Runs in logical order, to checksum each decompressed extent's part of each run right away
  // (no second pass over the pages): pieces are combined per run at the end.
  std::vector<const PageRun *> runs;
  for (const VmaImage &v : img.vmas)
    for (const PageRun &r : v.runs) runs.push_back(&r);
  std::sort(runs.begin(), runs.end(), [](const PageRun *a, const PageRun *b) { return a->offset < b->offset; });
  struct Piece {
    size_t run;
    uint64_t off, len;
    uint32_t crc;
  };
  std::vector<Piece> pieces;
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::string error;
  auto fail = [&](const std::string &e) {
    std::lock_guard<std::mutex> g(mu);
    if (error.empty()) error = e;
  };
  auto frames = [&] {
    std::vector<uint8_t> in, out;
    std::vector<Piece> mine;
    for (size_t i; (i = next++) < img.page_frames.size();) {
      {
        std::lock_guard<std::mutex> g(mu);
        if (!error.empty()) return;
      }
      const PageFrame &f = img.page_frames[i];
      const std::string where = "page frame " + std::to_string(i) + " at offset " + std::to_string(f.offset);
      if (f.length > (1u << 30) || f.raw_length > (1u << 30) || f.raw_length < 4) return fail(at + " is damaged: " + where + " has an impossible size");
      in.resize(size_t(f.length));
      out.resize(size_t(f.raw_length));
      if (!pread_all(src, in.data(), in.size(), f.offset)) return fail(at + " is cut short (" + where + ")");
      std::string e = unframe(img.pages_codec, in.data(), in.size(), out.data(), out.size());
      if (!e.empty()) return fail(at + " is damaged: " + where + ": " + e);
      uint32_t n;
      memcpy(&n, out.data(), 4);
      uint64_t data = 4 + 8 * uint64_t(n), pos = data;
      if (data > out.size()) return fail(at + " is damaged: " + where + ": bad extent table");
      for (uint32_t k = 0; k < n; k++) {
        uint32_t page, npages;
        memcpy(&page, out.data() + 4 + 8 * k, 4);
        memcpy(&npages, out.data() + 8 + 8 * k, 4);
        uint64_t len = uint64_t(npages) * kPage;
        if (pos + len > out.size()) return fail(at + " is damaged: " + where + ": bad extent table");
        const uint64_t lo = f.logical + uint64_t(page) * kPage, hi = lo + len;
        if (!pwrite_all(fd, out.data() + pos, size_t(len), lo))
          return fail("cannot hold the pages of " + image_path + " in memory: " + err(errno ? errno : ENOSPC));
        // The runs this extent overlaps: the last starting at or before lo, and those after.
        size_t r = size_t(std::upper_bound(runs.begin(), runs.end(), lo, [](uint64_t o, const PageRun *x) { return o < x->offset; }) - runs.begin());
        for (r = r ? r - 1 : 0; r < runs.size() && runs[r]->offset < hi; r++) {
          const uint64_t a = std::max(lo, runs[r]->offset), b = std::min(hi, runs[r]->offset + runs[r]->len);
          if (a < b) mine.push_back(Piece{r, a, b - a, crc32c(0, out.data() + pos + (a - lo), size_t(b - a))});
        }
        pos += len;
      }
      progress_add(f.raw_length);
    }
    std::lock_guard<std::mutex> g(mu);
    pieces.insert(pieces.end(), mine.begin(), mine.end());
  };
  std::vector<std::thread> pool;
  unsigned nt = std::max(1u, std::min<unsigned>(threads, unsigned(img.page_frames.size())));
  for (unsigned t = 1; t < nt; t++) pool.emplace_back(frames);
  frames();
  for (std::thread &t : pool) t.join();
  close(src);
  if (!error.empty()) throw std::runtime_error(error);

  // Every run's crc32c: its pieces in order, the zero pages between them by arithmetic.
  std::sort(pieces.begin(), pieces.end(), [](const Piece &a, const Piece &b) { return a.off < b.off; });
  size_t k = 0;
  for (size_t r = 0; r < runs.size(); r++) {
    const PageRun &run = *runs[r];
    uint32_t crc = 0;
    uint64_t pos = run.offset;
    for (; k < pieces.size() && pieces[k].run == r; k++) {
      if (pieces[k].off < pos) throw std::runtime_error(at + " is damaged: two frames hold the same pages");
      crc = crc32c_combine(crc32c_zeros(crc, pieces[k].off - pos), pieces[k].crc, pieces[k].len);
      pos = pieces[k].off + pieces[k].len;
    }
    crc = crc32c_zeros(crc, run.offset + run.len - pos);
    if (crc != run.crc32c) {
      char c[200];
      snprintf(c, sizeof c, " is damaged: checksum mismatch in page run %#llx+%#llx (stored %08x, read %08x)", (unsigned long long)run.addr,
               (unsigned long long)run.len, run.crc32c, crc);
      throw std::runtime_error(at + c);
    }
  }
}

}  // namespace cairn
