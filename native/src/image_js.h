// ProcessImage <-> the JS object protobufjs gives for protos/image.proto (toObject with
// longs: String, enums: Number, bytes: Buffer, defaults: true): camelCase field names,
// 64-bit values as decimal strings (numbers, bigints and Long-like objects accepted in).
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>

#include "image.h"

namespace cairn {

// How the VMA runs' per-page checksums go to JS (4 MiB for 4 GiB of memory): copied, left
// out (an image whose pages are not written yet gets them later), or lent: the Buffers point
// into `img`, which `owner` keeps alive until they are collected. A copy that size costs a
// page fault per 4 KiB of fresh memory, in the pause when the job is frozen.
struct PageCrcsOut {
  bool include = true;
  std::shared_ptr<const void> owner;
};

Napi::Object image_to_js(Napi::Env env, const ProcessImage &img, const PageCrcsOut &crcs = {});

// Throws std::runtime_error naming the field for a value of the wrong type. Without
// page_crcs the VMA runs' per-page checksums are left out (a check needs none of them, and
// a large process has a million).
ProcessImage image_from_js(const Napi::Value &v, bool page_crcs = true);

// Helpers used by the addon for other 64-bit fields.
uint64_t js_u64(const Napi::Value &v, const char *what);
int64_t js_i64(const Napi::Value &v, const char *what);

}  // namespace cairn
