// JS <-> C++ for the process-level state of procstate.h (pending signals, timers, attributes):
// the camelCase names of protos/image.proto, 64-bit values as decimal strings.
#include <stdexcept>

#include "image_js.h"
#include "procstate_js.h"

namespace cairn {

namespace {

bool absent(const Napi::Value &v) { return v.IsUndefined() || v.IsNull(); }

[[noreturn]] void bad(const std::string &what, const char *want) {
  throw std::runtime_error("image field " + what + ": expected " + want);
}

int32_t i32(const Napi::Object &o, const char *name) {
  Napi::Value v = o.Get(name);
  if (absent(v)) return 0;
  if (v.IsNumber()) return v.As<Napi::Number>().Int32Value();
  return int32_t(js_i64(v, name));
}

bool boolean(const Napi::Object &o, const char *name) {
  Napi::Value v = o.Get(name);
  if (absent(v)) return false;
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value();
  if (v.IsNumber()) return v.As<Napi::Number>().DoubleValue() != 0;
  bad(name, "a boolean");
}

std::vector<uint8_t> bytes_of(const Napi::Object &o, const char *name) {
  Napi::Value v = o.Get(name);
  if (absent(v)) return {};
  if (!v.IsTypedArray()) bad(name, "a Buffer");
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  const uint8_t *p = static_cast<const uint8_t *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  return std::vector<uint8_t>(p, p + ta.ByteLength());
}

Napi::Buffer<uint8_t> buffer(Napi::Env env, const std::vector<uint8_t> &b) {
  return Napi::Buffer<uint8_t>::Copy(env, b.data(), b.size());
}

// Each element of the array `name` of o, as an object (absent: none).
template <typename F>
void each(const Napi::Object &o, const char *name, F f) {
  Napi::Value v = o.Get(name);
  if (absent(v)) return;
  if (!v.IsArray()) bad(name, "an array");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsObject()) bad(name, "an array of objects");
    f(e.As<Napi::Object>());
  }
}

Napi::Array signals_js(Napi::Env env, const std::vector<PendingSignal> &v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("sig", v[i].sig);
    x.Set("siginfo", buffer(env, v[i].siginfo));
    a.Set(uint32_t(i), x);
  }
  return a;
}

void signals_from(const Napi::Object &o, const char *name, std::vector<PendingSignal> &out) {
  each(o, name, [&](const Napi::Object &x) { out.push_back(PendingSignal{i32(x, "sig"), bytes_of(x, "siginfo")}); });
}

}  // namespace

void thread_state_to_js(Napi::Env env, const ThreadImage &t, Napi::Object &x) {
  x.Set("pending", signals_js(env, t.pending));
  x.Set("cpuAffinity", buffer(env, t.cpu_affinity));
  x.Set("nice", t.nice);
  x.Set("comm", t.comm);
  x.Set("noNewPrivs", t.no_new_privs);
  x.Set("schedPolicy", t.sched_policy);
  x.Set("schedPriority", t.sched_priority);
  x.Set("schedResetOnFork", t.sched_reset_on_fork);
  x.Set("timerslackNs", std::to_string(t.timerslack_ns));
}

void thread_state_from_js(const Napi::Object &x, ThreadImage &t) {
  signals_from(x, "pending", t.pending);
  t.cpu_affinity = bytes_of(x, "cpuAffinity");
  t.nice = i32(x, "nice");
  Napi::Value c = x.Get("comm");
  if (c.IsString()) t.comm = c.As<Napi::String>().Utf8Value();
  t.no_new_privs = boolean(x, "noNewPrivs");
  t.sched_policy = uint32_t(i32(x, "schedPolicy"));
  t.sched_priority = uint32_t(i32(x, "schedPriority"));
  t.sched_reset_on_fork = boolean(x, "schedResetOnFork");
  t.timerslack_ns = js_u64(x.Get("timerslackNs"), "threads.timerslackNs");
}

void process_state_to_js(Napi::Env env, const ProcessImage &img, Napi::Object &o) {
  o.Set("sharedPending", signals_js(env, img.shared_pending));
  Napi::Array it = Napi::Array::New(env, img.itimers.size());
  for (size_t i = 0; i < img.itimers.size(); i++) {
    const Itimer &t = img.itimers[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("which", t.which);
    x.Set("valueUs", std::to_string(t.value_us));
    x.Set("intervalUs", std::to_string(t.interval_us));
    it.Set(uint32_t(i), x);
  }
  o.Set("itimers", it);
  Napi::Array pt = Napi::Array::New(env, img.posix_timers.size());
  for (size_t i = 0; i < img.posix_timers.size(); i++) {
    const PosixTimer &t = img.posix_timers[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("id", t.id);
    x.Set("clock", t.clock);
    x.Set("signo", t.signo);
    x.Set("notify", t.notify);
    x.Set("notifyTid", t.notify_tid);
    x.Set("sigval", std::to_string(t.sigval));
    x.Set("valueNs", std::to_string(t.value_ns));
    x.Set("intervalNs", std::to_string(t.interval_ns));
    x.Set("overrun", t.overrun);
    pt.Set(uint32_t(i), x);
  }
  o.Set("posixTimers", pt);
  o.Set("personality", img.personality);
  o.Set("nonDumpable", img.non_dumpable);
}

void process_state_from_js(const Napi::Object &o, ProcessImage &img) {
  signals_from(o, "sharedPending", img.shared_pending);
  each(o, "itimers", [&](const Napi::Object &x) {
    img.itimers.push_back(Itimer{i32(x, "which"), js_i64(x.Get("valueUs"), "itimers.valueUs"),
                                 js_i64(x.Get("intervalUs"), "itimers.intervalUs")});
  });
  each(o, "posixTimers", [&](const Napi::Object &x) {
    PosixTimer t;
    t.id = i32(x, "id");
    t.clock = i32(x, "clock");
    t.signo = i32(x, "signo");
    t.notify = i32(x, "notify");
    t.notify_tid = i32(x, "notifyTid");
    t.sigval = js_u64(x.Get("sigval"), "posixTimers.sigval");
    t.value_ns = js_i64(x.Get("valueNs"), "posixTimers.valueNs");
    t.interval_ns = js_i64(x.Get("intervalNs"), "posixTimers.intervalNs");
    t.overrun = i32(x, "overrun");
    img.posix_timers.push_back(t);
  });
  img.personality = uint32_t(js_u64(o.Get("personality"), "personality"));
  img.non_dumpable = boolean(o, "nonDumpable");
}

}  // namespace cairn
