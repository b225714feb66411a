// Checking page runs against their crc32c: in parallel chunks (combined with crc32c_combine),
// and without reading holes (zero pages never stored: crc32c_zeros). Used by verify (cairn
// restart, cairn inspect --verify) on image files and after decompression on memfds.
#pragma once
#include <string>
#include <vector>

#include "image.h"

namespace cairn {

// "" if every run of `runs` matches what `fd` holds at its offset; otherwise one line naming
// the first bad run: "is cut short: page run ..." or "is damaged: checksum mismatch in ...".
std::string check_runs(int fd, const std::vector<const PageRun *> &runs, unsigned threads);

}  // namespace cairn
