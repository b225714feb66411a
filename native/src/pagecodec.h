// Page data compression: one frame per dump batch, zstd or gzip, compressed and decompressed
// in parallel (frames are independent). Zero pages never enter a frame: a frame lists the
// pages of its batch that hold data, so restore leaves the others as holes.
//
// Frame payload before compression (little-endian):
//   u32 nextents, then nextents x { u32 first page (from PageFrame::logical), u32 npages },
//   then the bytes of those pages in order.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "image.h"

namespace cairn {

struct Codec {
  PageCodec kind = CODEC_NONE;
  int level = 0;   // 0: the codec's default here (zstd 1, gzip 1: fast, as checkpoints need)
};

// Parses "zstd", "zstd:3", "gzip:1", "none"; throws std::runtime_error naming the value.
Codec parse_codec(const std::string &s);
const char *codec_name(PageCodec k);

struct Extent {
  uint32_t page, npages;   // pages of a batch holding data
};

// Compresses one batch (its pages with data). The frame is in a buffer of the calling thread,
// valid until its next call. Reuses per-thread contexts and buffers.
std::pair<const uint8_t *, size_t> compress_frame(const Codec &c, const uint8_t *batch, const std::vector<Extent> &ext);

// Decompresses the frames of `img` and writes their pages at their logical offsets into `fd`
// (a memfd: pages never written stay holes), with up to `threads` threads. Then checks every
// VMA page run's crc32c against what is in `fd`. Throws a one-line error naming the image.
void decompress_pages(const std::string &image_path, const ProcessImage &img, int fd, unsigned threads);

// Threads for (de)compression: the machine's online CPUs, at most 8.
unsigned codec_threads();

}  // namespace cairn
