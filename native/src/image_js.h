// ProcessImage <-> the JS object protobufjs gives for protos/image.proto (toObject with
// longs: String, enums: Number, bytes: Buffer, defaults: true): camelCase field names,
// 64-bit values as decimal strings (numbers, bigints and Long-like objects accepted in).
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

#include "image.h"

namespace cairn {

Napi::Object image_to_js(Napi::Env env, const ProcessImage &img);

// Throws std::runtime_error naming the field for a value of the wrong type. Without
// page_crcs the VMA runs' per-page checksums are left out (a check needs none of them, and
// a large process has a million).
ProcessImage image_from_js(const Napi::Value &v, bool page_crcs = true);

// Helpers used by the addon for other 64-bit fields.
uint64_t js_u64(const Napi::Value &v, const char *what);
int64_t js_i64(const Napi::Value &v, const char *what);

}  // namespace cairn
