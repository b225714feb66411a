// JS <-> C++ for the process-level state (pending signals, timers, attributes); called by
// image_js.cc for each thread and for the process.
#pragma once
#include <napi.h>

#include "image.h"

namespace cairn {

void thread_state_to_js(Napi::Env env, const ThreadImage &t, Napi::Object &x);
void thread_state_from_js(const Napi::Object &x, ThreadImage &t);
void process_state_to_js(Napi::Env env, const ProcessImage &img, Napi::Object &o);
void process_state_from_js(const Napi::Object &o, ProcessImage &img);

}  // namespace cairn
