// Incremental images: a run of pages may be in an older image of the job (PageRun.file).
#pragma once
#include <string>

#include "image.h"

namespace cairn {

// True if some VMA run of img is in another image.
bool has_page_references(const ProcessImage &img);

// Every VMA run of img, its own and those in older images of the job (found from the job
// directory, two levels above image_path), copied into fd (a memfd) one after the other from
// the page-data offset on, each checked against its crc32c; the runs' offsets are set to
// where they are in fd, so the restore reads fd like a raw image. Zero pages stay holes.
// fd < 0: only checked. Throws naming the image, and the missing or damaged older image.
void assemble_pages(const std::string &image_path, ProcessImage &img, int fd);

}  // namespace cairn
