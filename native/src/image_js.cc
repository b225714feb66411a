#include "image_js.h"

#include <string.h>
#include "procstate_js.h"

#include <errno.h>
#include <stdlib.h>

#include <cmath>
#include <stdexcept>

namespace cairn {

namespace {

Napi::String u64s(Napi::Env env, uint64_t v) { return Napi::String::New(env, std::to_string(v)); }
Napi::String i64s(Napi::Env env, int64_t v) { return Napi::String::New(env, std::to_string(v)); }
Napi::Buffer<uint8_t> bytes(Napi::Env env, const std::vector<uint8_t> &b) {
  return Napi::Buffer<uint8_t>::Copy(env, b.data(), b.size());
}

Napi::Object file_js(Napi::Env env, const FileIdentity &f) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("dev", u64s(env, f.dev));
  o.Set("ino", u64s(env, f.ino));
  o.Set("size", u64s(env, f.size));
  o.Set("mtimeNs", i64s(env, f.mtime_ns));
  return o;
}

// --- JS -> C++ ---

bool absent(const Napi::Value &v) { return v.IsUndefined() || v.IsNull(); }

[[noreturn]] void bad(const char *what, const char *want) {
  throw std::runtime_error(std::string("image field ") + what + ": expected " + want);
}

// Long-like {low, high, unsigned} objects, as protobufjs gives without longs: String.
bool long_like(const Napi::Value &v, uint64_t &out) {
  if (!v.IsObject()) return false;
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value lo = o.Get("low"), hi = o.Get("high");
  if (!lo.IsNumber() || !hi.IsNumber()) return false;
  out = (uint64_t(uint32_t(hi.As<Napi::Number>().Int64Value())) << 32) | uint32_t(lo.As<Napi::Number>().Int64Value());
  return true;
}

Napi::Value field(const Napi::Object &o, const char *name) { return o.Get(name); }

uint32_t u32(const Napi::Object &o, const char *name) {
  Napi::Value v = field(o, name);
  if (absent(v)) return 0;
  if (v.IsNumber()) return v.As<Napi::Number>().Uint32Value();
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  if (v.IsString()) return uint32_t(js_u64(v, name));
  bad(name, "a number");
}
int32_t i32(const Napi::Object &o, const char *name) {
  Napi::Value v = field(o, name);
  if (absent(v)) return 0;
  if (v.IsNumber()) return v.As<Napi::Number>().Int32Value();
  if (v.IsString()) return int32_t(js_i64(v, name));
  bad(name, "a number");
}
uint64_t u64(const Napi::Object &o, const char *name) { return js_u64(field(o, name), name); }
int64_t i64(const Napi::Object &o, const char *name) { return js_i64(field(o, name), name); }
bool boolean(const Napi::Object &o, const char *name) {
  Napi::Value v = field(o, name);
  if (absent(v)) return false;
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value();
  if (v.IsNumber()) return v.As<Napi::Number>().DoubleValue() != 0;
  bad(name, "a boolean");
}
std::string str(const Napi::Object &o, const char *name) {
  Napi::Value v = field(o, name);
  if (absent(v)) return std::string();
  if (!v.IsString()) bad(name, "a string");
  return v.As<Napi::String>().Utf8Value();
}
std::vector<uint8_t> buf(const Napi::Object &o, const char *name) {
  Napi::Value v = field(o, name);
  if (absent(v)) return {};
  if (v.IsTypedArray()) {
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    const uint8_t *p = static_cast<const uint8_t *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    return std::vector<uint8_t>(p, p + ta.ByteLength());
  }
  if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
    const uint8_t *p = static_cast<const uint8_t *>(ab.Data());
    return std::vector<uint8_t>(p, p + ab.ByteLength());
  }
  bad(name, "a Buffer");
}
Napi::Object obj(const Napi::Object &o, const char *name, bool *present = nullptr) {
  Napi::Value v = field(o, name);
  if (present) *present = !absent(v);
  if (absent(v)) return Napi::Object::New(o.Env());
  if (!v.IsObject()) bad(name, "an object");
  return v.As<Napi::Object>();
}
Napi::Array arr(const Napi::Object &o, const char *name) {
  Napi::Value v = field(o, name);
  if (absent(v)) return Napi::Array::New(o.Env());
  if (!v.IsArray()) bad(name, "an array");
  return v.As<Napi::Array>();
}
Napi::Object elem(const Napi::Array &a, uint32_t i, const char *name) {
  Napi::Value v = a.Get(i);
  if (!v.IsObject()) bad(name, "an array of objects");
  return v.As<Napi::Object>();
}

FileIdentity file_from(const Napi::Object &o) {
  FileIdentity f;
  f.dev = u64(o, "dev");
  f.ino = u64(o, "ino");
  f.size = u64(o, "size");
  f.mtime_ns = i64(o, "mtimeNs");
  return f;
}

// --- descriptor kinds and shared files (fd_kinds.cc) ---

void fd_kinds_to_js(Napi::Env env, const FdImage &f, Napi::Object &x) {
  x.Set("eventfdCount", u64s(env, f.eventfd_count));
  x.Set("eventfdSemaphore", f.eventfd_semaphore);
  x.Set("timerfdClockid", f.timerfd_clockid);
  x.Set("timerfdTicks", u64s(env, f.timerfd_ticks));
  x.Set("timerfdSettimeFlags", f.timerfd_settime_flags);
  x.Set("timerfdValueNs", i64s(env, f.timerfd_value_ns));
  x.Set("timerfdIntervalNs", i64s(env, f.timerfd_interval_ns));
  x.Set("signalfdMask", u64s(env, f.signalfd_mask));
  Napi::Array ep = Napi::Array::New(env, f.epoll_targets.size());
  for (size_t k = 0; k < f.epoll_targets.size(); k++) {
    Napi::Object y = Napi::Object::New(env);
    y.Set("tfd", f.epoll_targets[k].tfd);
    y.Set("events", f.epoll_targets[k].events);
    y.Set("data", u64s(env, f.epoll_targets[k].data));
    ep.Set(uint32_t(k), y);
  }
  x.Set("epollTargets", ep);
  Napi::Array in = Napi::Array::New(env, f.inotify_watches.size());
  for (size_t k = 0; k < f.inotify_watches.size(); k++) {
    const InotifyWatch &w = f.inotify_watches[k];
    Napi::Object y = Napi::Object::New(env);
    y.Set("wd", w.wd);
    y.Set("mask", w.mask);
    y.Set("path", w.path);
    y.Set("ino", u64s(env, w.ino));
    y.Set("dev", u64s(env, w.dev));
    in.Set(uint32_t(k), y);
  }
  x.Set("inotifyWatches", in);
  x.Set("sharedFile", f.shared_file);
  x.Set("pipe", f.pipe);
  x.Set("ofd", f.ofd);
  x.Set("socket", f.socket);
  x.Set("ptyIndex", f.pty_index);
  x.Set("ptyMaster", f.pty_master);
  Napi::Array lk = Napi::Array::New(env, f.locks.size());
  for (size_t k = 0; k < f.locks.size(); k++) {
    Napi::Object y = Napi::Object::New(env);
    y.Set("kind", uint32_t(f.locks[k].kind));
    y.Set("write", f.locks[k].write);
    y.Set("start", u64s(env, f.locks[k].start));
    y.Set("len", u64s(env, f.locks[k].len));
    lk.Set(uint32_t(k), y);
  }
  x.Set("locks", lk);
}

Napi::Array runs_to_js(Napi::Env env, const std::vector<PageRun> &v, const PageCrcsOut &crcs = {}) {
  Napi::Array runs = Napi::Array::New(env, v.size());
  for (size_t k = 0; k < v.size(); k++) {
    Napi::Object y = Napi::Object::New(env);
    y.Set("addr", u64s(env, v[k].addr));
    y.Set("len", u64s(env, v[k].len));
    y.Set("offset", u64s(env, v[k].offset));
    y.Set("crc32c", v[k].crc32c);
    if (!v[k].file.empty()) {
      y.Set("file", v[k].file);
      y.Set("fileOffset", u64s(env, v[k].file_offset));
    }
    if (v[k].page_crcs.empty() || !crcs.include) {
      // nothing
    } else if (crcs.owner) {
      auto *hold = new std::shared_ptr<const void>(crcs.owner);
      y.Set("pageCrcs", Napi::Buffer<uint8_t>::New(
                            env, reinterpret_cast<uint8_t *>(const_cast<uint32_t *>(v[k].page_crcs.data())),
                            v[k].page_crcs.size() * 4, [](Napi::Env, uint8_t *, std::shared_ptr<const void> *h) { delete h; }, hold));
    } else {
      y.Set("pageCrcs", Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t *>(v[k].page_crcs.data()),
                                                    v[k].page_crcs.size() * 4));
    }
    runs.Set(uint32_t(k), y);
  }
  return runs;
}

std::vector<PageRun> runs_from_js(const Napi::Object &x, bool page_crcs = true) {
  std::vector<PageRun> out;
  Napi::Array runs = arr(x, "runs");
  for (uint32_t k = 0; k < runs.Length(); k++) {
    Napi::Object y = elem(runs, k, "runs");
    out.push_back(PageRun{u64(y, "addr"), u64(y, "len"), u64(y, "offset"), u32(y, "crc32c")});
    out.back().file = str(y, "file");
    out.back().file_offset = u64(y, "fileOffset");
    if (!page_crcs) continue;
    std::vector<uint8_t> pc = buf(y, "pageCrcs");
    if (pc.size() % 4) bad("pageCrcs", "4 bytes per page");
    out.back().page_crcs.resize(pc.size() / 4);
    if (!pc.empty()) memcpy(out.back().page_crcs.data(), pc.data(), pc.size());
  }
  return out;
}

Napi::Array pipes_to_js(Napi::Env env, const std::vector<PipeImage> &v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("file", file_js(env, v[i].file));
    x.Set("capacity", v[i].capacity);
    x.Set("packet", v[i].packet);
    x.Set("bytes", u64s(env, v[i].bytes));
    x.Set("runs", runs_to_js(env, v[i].runs));
    x.Set("path", v[i].path);
    a.Set(uint32_t(i), x);
  }
  return a;
}

std::vector<PipeImage> pipes_from_js(const Napi::Array &a) {
  std::vector<PipeImage> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Object x = elem(a, i, "pipes");
    PipeImage p;
    p.file = file_from(obj(x, "file"));
    p.capacity = u32(x, "capacity");
    p.packet = boolean(x, "packet");
    p.bytes = u64(x, "bytes");
    p.runs = runs_from_js(x);
    p.path = str(x, "path");
    out.push_back(std::move(p));
  }
  return out;
}

Napi::Array tmpfs_to_js(Napi::Env env, const std::vector<TmpfsFile> &v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("path", v[i].path);
    x.Set("file", file_js(env, v[i].file));
    x.Set("size", u64s(env, v[i].size));
    x.Set("mode", v[i].mode);
    x.Set("runs", runs_to_js(env, v[i].runs));
    a.Set(uint32_t(i), x);
  }
  return a;
}

std::vector<TmpfsFile> tmpfs_from_js(const Napi::Array &a) {
  std::vector<TmpfsFile> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Object x = elem(a, i, "tmpfsFiles");
    TmpfsFile t;
    t.path = str(x, "path");
    t.file = file_from(obj(x, "file"));
    t.size = u64(x, "size");
    t.mode = u32(x, "mode");
    t.runs = runs_from_js(x);
    out.push_back(std::move(t));
  }
  return out;
}

Napi::Array ptys_to_js(Napi::Env env, const std::vector<PtyImage> &v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("index", v[i].index);
    x.Set("locked", v[i].locked);
    x.Set("termios", bytes(env, v[i].termios));
    x.Set("winsize", bytes(env, v[i].winsize));
    x.Set("packet", v[i].packet);
    x.Set("bytes", u64s(env, v[i].bytes));
    x.Set("runs", runs_to_js(env, v[i].runs));
    a.Set(uint32_t(i), x);
  }
  return a;
}

std::vector<PtyImage> ptys_from_js(const Napi::Array &a) {
  std::vector<PtyImage> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Object x = elem(a, i, "ptys");
    PtyImage p;
    p.index = u32(x, "index");
    p.locked = boolean(x, "locked");
    p.termios = buf(x, "termios");
    p.winsize = buf(x, "winsize");
    p.packet = boolean(x, "packet");
    p.bytes = u64(x, "bytes");
    p.runs = runs_from_js(x);
    out.push_back(std::move(p));
  }
  return out;
}

Napi::Array sockets_to_js(Napi::Env env, const std::vector<SocketImage> &v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) {
    const SocketImage &s = v[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("ino", u64s(env, s.ino));
    x.Set("family", s.family);
    x.Set("type", s.type);
    x.Set("protocol", s.protocol);
    x.Set("state", uint32_t(s.state));
    x.Set("peerIno", u64s(env, s.peer_ino));
    x.Set("name", bytes(env, s.name));
    x.Set("peerName", bytes(env, s.peer_name));
    x.Set("backlog", s.backlog);
    x.Set("pending", s.pending);
    x.Set("shutdown", s.shutdown);
    x.Set("peekOff", s.peek_off);
    Napi::Array opts = Napi::Array::New(env, s.opts.size());
    for (size_t k = 0; k < s.opts.size(); k++) {
      Napi::Object y = Napi::Object::New(env);
      y.Set("level", s.opts[k].level);
      y.Set("name", s.opts[k].name);
      y.Set("value", s.opts[k].value);
      opts.Set(uint32_t(k), y);
    }
    x.Set("opts", opts);
    x.Set("bytes", u64s(env, s.bytes));
    x.Set("runs", runs_to_js(env, s.runs));
    x.Set("file", file_js(env, s.file));
    x.Set("mode", s.mode);
    x.Set("outside", s.outside);
    x.Set("listenerIno", u64s(env, s.listener_ino));
    Napi::Array clients = Napi::Array::New(env, s.pending_clients.size());
    for (size_t k = 0; k < s.pending_clients.size(); k++) clients.Set(uint32_t(k), u64s(env, s.pending_clients[k]));
    x.Set("pendingClients", clients);
    Napi::Array senders = Napi::Array::New(env, s.senders.size());
    for (size_t k = 0; k < s.senders.size(); k++) senders.Set(uint32_t(k), bytes(env, s.senders[k]));
    x.Set("senders", senders);
    x.Set("remoteConn", s.remote_conn);
    x.Set("remoteListen", s.remote_listen);
    a.Set(uint32_t(i), x);
  }
  return a;
}

std::vector<SocketImage> sockets_from_js(const Napi::Array &a) {
  std::vector<SocketImage> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Object x = elem(a, i, "sockets");
    SocketImage s;
    s.ino = u64(x, "ino");
    s.family = u32(x, "family");
    s.type = u32(x, "type");
    s.protocol = u32(x, "protocol");
    s.state = SocketState(u32(x, "state"));
    if (s.state > SOCKET_BOUND) throw std::runtime_error("image field sockets.state: unknown state " + std::to_string(s.state));
    s.peer_ino = u64(x, "peerIno");
    s.name = buf(x, "name");
    s.peer_name = buf(x, "peerName");
    s.backlog = u32(x, "backlog");
    s.pending = u32(x, "pending");
    s.shutdown = u32(x, "shutdown");
    s.peek_off = i32(x, "peekOff");
    Napi::Array opts = arr(x, "opts");
    for (uint32_t k = 0; k < opts.Length(); k++) {
      Napi::Object y = elem(opts, k, "opts");
      s.opts.push_back(SockOpt{i32(y, "level"), i32(y, "name"), i32(y, "value")});
    }
    s.bytes = u64(x, "bytes");
    s.runs = runs_from_js(x);
    s.file = file_from(obj(x, "file"));
    s.mode = u32(x, "mode");
    s.outside = boolean(x, "outside");
    s.listener_ino = u64(x, "listenerIno");
    Napi::Array clients = arr(x, "pendingClients");
    for (uint32_t k = 0; k < clients.Length(); k++) s.pending_clients.push_back(js_u64(clients.Get(k), "pendingClients"));
    Napi::Array senders = arr(x, "senders");
    for (uint32_t k = 0; k < senders.Length(); k++) {
      Napi::Value v = senders.Get(k);
      if (!v.IsTypedArray()) bad("senders", "an array of Buffers");
      Napi::TypedArray ta = v.As<Napi::TypedArray>();
      const uint8_t *p = static_cast<const uint8_t *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      s.senders.emplace_back(p, p + ta.ByteLength());
    }
    s.remote_conn = str(x, "remoteConn");
    s.remote_listen = boolean(x, "remoteListen");
    out.push_back(std::move(s));
  }
  return out;
}

Napi::Array shared_files_to_js(Napi::Env env, const std::vector<SharedFile> &v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) {
    const SharedFile &s = v[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("kind", uint32_t(s.kind));
    x.Set("name", s.name);
    x.Set("size", u64s(env, s.size));
    x.Set("seals", s.seals);
    x.Set("mode", s.mode);
    x.Set("file", file_js(env, s.file));
    x.Set("runs", runs_to_js(env, s.runs));
    a.Set(uint32_t(i), x);
  }
  return a;
}

void fd_kinds_from_js(const Napi::Object &x, FdImage &f) {
  f.eventfd_count = u64(x, "eventfdCount");
  f.eventfd_semaphore = boolean(x, "eventfdSemaphore");
  f.timerfd_clockid = i32(x, "timerfdClockid");
  f.timerfd_ticks = u64(x, "timerfdTicks");
  f.timerfd_settime_flags = u32(x, "timerfdSettimeFlags");
  f.timerfd_value_ns = i64(x, "timerfdValueNs");
  f.timerfd_interval_ns = i64(x, "timerfdIntervalNs");
  f.signalfd_mask = u64(x, "signalfdMask");
  Napi::Array ep = arr(x, "epollTargets");
  for (uint32_t k = 0; k < ep.Length(); k++) {
    Napi::Object y = elem(ep, k, "epollTargets");
    f.epoll_targets.push_back(EpollTarget{i32(y, "tfd"), u32(y, "events"), u64(y, "data")});
  }
  Napi::Array in = arr(x, "inotifyWatches");
  for (uint32_t k = 0; k < in.Length(); k++) {
    Napi::Object y = elem(in, k, "inotifyWatches");
    f.inotify_watches.push_back(InotifyWatch{i32(y, "wd"), u32(y, "mask"), str(y, "path"), u64(y, "ino"), u64(y, "dev")});
  }
  f.shared_file = u32(x, "sharedFile");
  f.pipe = u32(x, "pipe");
  f.ofd = u32(x, "ofd");
  f.socket = u32(x, "socket");
  f.pty_index = u32(x, "ptyIndex");
  f.pty_master = boolean(x, "ptyMaster");
  Napi::Array lk = arr(x, "locks");
  for (uint32_t k = 0; k < lk.Length(); k++) {
    Napi::Object y = elem(lk, k, "locks");
    FileLock l;
    l.kind = LockKind(u32(y, "kind"));
    if (l.kind > LOCK_OFD) throw std::runtime_error("image field locks.kind: unknown kind " + std::to_string(l.kind));
    l.write = boolean(y, "write");
    l.start = u64(y, "start");
    l.len = u64(y, "len");
    f.locks.push_back(l);
  }
}

std::vector<SharedFile> shared_files_from_js(const Napi::Array &a) {
  std::vector<SharedFile> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Object x = elem(a, i, "sharedFiles");
    SharedFile s;
    s.kind = SharedFileKind(u32(x, "kind"));
    if (s.kind > SHARED_ANON) throw std::runtime_error("image field sharedFiles.kind: unknown kind " + std::to_string(s.kind));
    s.name = str(x, "name");
    s.size = u64(x, "size");
    s.seals = u32(x, "seals");
    s.mode = u32(x, "mode");
    s.file = file_from(obj(x, "file"));
    s.runs = runs_from_js(x);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

uint64_t js_u64(const Napi::Value &v, const char *what) {
  if (absent(v)) return 0;
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s.empty()) return 0;
    errno = 0;
    char *e;
    unsigned long long r = s[0] == '-' ? (unsigned long long)strtoll(s.c_str(), &e, 10) : strtoull(s.c_str(), &e, 10);
    if (errno || *e) bad(what, "a decimal string");
    return r;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d)) bad(what, "a finite number");
    return d < 0 ? uint64_t(int64_t(d)) : uint64_t(d);
  }
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  uint64_t r;
  if (long_like(v, r)) return r;
  bad(what, "a 64-bit integer (decimal string)");
}

int64_t js_i64(const Napi::Value &v, const char *what) {
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s.empty()) return 0;
    errno = 0;
    char *e;
    long long r = strtoll(s.c_str(), &e, 10);
    if (errno || *e) bad(what, "a decimal string");
    return r;
  }
  if (v.IsNumber()) return v.As<Napi::Number>().Int64Value();
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  }
  return int64_t(js_u64(v, what));
}

Napi::Object image_to_js(Napi::Env env, const ProcessImage &img, const PageCrcsOut &crcs) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("formatVersion", img.format_version);
  o.Set("cairnVersion", img.cairn_version);
  o.Set("nsPid", img.ns_pid);
  o.Set("nsPpid", img.ns_ppid);
  o.Set("comm", img.comm);
  o.Set("exe", img.exe);
  o.Set("cwd", img.cwd);
  o.Set("umask", img.umask);
  o.Set("hostname", img.hostname);
  {
    const MmState &m = img.mm;
    Napi::Object mm = Napi::Object::New(env);
    mm.Set("startCode", u64s(env, m.start_code));
    mm.Set("endCode", u64s(env, m.end_code));
    mm.Set("startData", u64s(env, m.start_data));
    mm.Set("endData", u64s(env, m.end_data));
    mm.Set("startBrk", u64s(env, m.start_brk));
    mm.Set("brk", u64s(env, m.brk));
    mm.Set("startStack", u64s(env, m.start_stack));
    mm.Set("argStart", u64s(env, m.arg_start));
    mm.Set("argEnd", u64s(env, m.arg_end));
    mm.Set("envStart", u64s(env, m.env_start));
    mm.Set("envEnd", u64s(env, m.env_end));
    o.Set("mm", mm);
  }
  o.Set("auxv", bytes(env, img.auxv));
  Napi::Array threads = Napi::Array::New(env, img.threads.size());
  for (size_t i = 0; i < img.threads.size(); i++) {
    const ThreadImage &t = img.threads[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("tid", t.tid);
    x.Set("regs", bytes(env, t.regs));
    x.Set("xstate", bytes(env, t.xstate));
    x.Set("sigmask", u64s(env, t.sigmask));
    x.Set("clearChildTid", u64s(env, t.clear_child_tid));
    x.Set("robustList", u64s(env, t.robust_list));
    x.Set("robustListLen", u64s(env, t.robust_list_len));
    x.Set("rseqPtr", u64s(env, t.rseq_ptr));
    x.Set("rseqLen", t.rseq_len);
    x.Set("rseqSig", t.rseq_sig);
    x.Set("altstackSp", u64s(env, t.altstack_sp));
    x.Set("altstackSize", u64s(env, t.altstack_size));
    x.Set("altstackFlags", t.altstack_flags);
    thread_state_to_js(env, t, x);
    threads.Set(uint32_t(i), x);
  }
  o.Set("threads", threads);
  Napi::Array vmas = Napi::Array::New(env, img.vmas.size());
  for (size_t i = 0; i < img.vmas.size(); i++) {
    const VmaImage &v = img.vmas[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("start", u64s(env, v.start));
    x.Set("end", u64s(env, v.end));
    x.Set("prot", v.prot);
    x.Set("kind", uint32_t(v.kind));
    x.Set("path", v.path);
    x.Set("pgoff", u64s(env, v.pgoff));
    x.Set("file", file_js(env, v.file));
    x.Set("runs", runs_to_js(env, v.runs, crcs));
    x.Set("name", v.name);
    x.Set("sharedFile", v.shared_file);
    x.Set("flags", v.flags);
    x.Set("sysvShmid", v.sysv_shmid);
    vmas.Set(uint32_t(i), x);
  }
  o.Set("vmas", vmas);
  Napi::Array fds = Napi::Array::New(env, img.fds.size());
  for (size_t i = 0; i < img.fds.size(); i++) {
    const FdImage &f = img.fds[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("fd", f.fd);
    x.Set("kind", uint32_t(f.kind));
    x.Set("path", f.path);
    x.Set("flags", f.flags);
    x.Set("cloexec", f.cloexec);
    x.Set("pos", u64s(env, f.pos));
    x.Set("size", u64s(env, f.size));
    x.Set("file", file_js(env, f.file));
    x.Set("inheritedIndex", f.inherited_index);
    fd_kinds_to_js(env, f, x);
    fds.Set(uint32_t(i), x);
  }
  o.Set("fds", fds);
  Napi::Array sas = Napi::Array::New(env, img.sigactions.size());
  for (size_t i = 0; i < img.sigactions.size(); i++) {
    const SigActionImage &s = img.sigactions[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("sig", s.sig);
    x.Set("handler", u64s(env, s.handler));
    x.Set("flags", u64s(env, s.flags));
    x.Set("restorer", u64s(env, s.restorer));
    x.Set("mask", u64s(env, s.mask));
    sas.Set(uint32_t(i), x);
  }
  o.Set("sigactions", sas);
  Napi::Array rl = Napi::Array::New(env, img.rlimits.size());
  for (size_t i = 0; i < img.rlimits.size(); i++) {
    const RlimitImage &r = img.rlimits[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("resource", r.resource);
    x.Set("cur", u64s(env, r.cur));
    x.Set("max", u64s(env, r.max));
    rl.Set(uint32_t(i), x);
  }
  o.Set("rlimits", rl);
  {
    Napi::Object c = Napi::Object::New(env);
    c.Set("monotonicNs", i64s(env, img.clocks.monotonic_ns));
    c.Set("boottimeNs", i64s(env, img.clocks.boottime_ns));
    c.Set("realtimeNs", i64s(env, img.clocks.realtime_ns));
    o.Set("clocks", c);
  }
  {
    const SpecialMappings &s = img.special;
    Napi::Object x = Napi::Object::New(env);
    x.Set("vvarStart", u64s(env, s.vvar_start));
    x.Set("vvarEnd", u64s(env, s.vvar_end));
    x.Set("vvarVclockStart", u64s(env, s.vvar_vclock_start));
    x.Set("vvarVclockEnd", u64s(env, s.vvar_vclock_end));
    x.Set("vdsoStart", u64s(env, s.vdso_start));
    x.Set("vdsoEnd", u64s(env, s.vdso_end));
    o.Set("special", x);
  }
  o.Set("pagesBytes", u64s(env, img.pages_bytes));
  Napi::Array argv = Napi::Array::New(env, img.argv.size());
  for (size_t i = 0; i < img.argv.size(); i++) argv.Set(uint32_t(i), img.argv[i]);
  o.Set("argv", argv);
  o.Set("sharedFiles", shared_files_to_js(env, img.shared_files));
  o.Set("pipes", pipes_to_js(env, img.pipes));
  o.Set("ptys", ptys_to_js(env, img.ptys));
  o.Set("tmpfsFiles", tmpfs_to_js(env, img.tmpfs_files));
  {
    Napi::Array notes = Napi::Array::New(env, img.notes.size());
    for (size_t i = 0; i < img.notes.size(); i++) notes.Set(uint32_t(i), img.notes[i]);
    o.Set("notes", notes);
  }
  o.Set("sockets", sockets_to_js(env, img.sockets));
  o.Set("nsPgid", img.ns_pgid);
  o.Set("nsSid", img.ns_sid);
  Napi::Array zs = Napi::Array::New(env, img.zombies.size());
  for (size_t i = 0; i < img.zombies.size(); i++) {
    const ZombieImage &z = img.zombies[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("nsPid", z.ns_pid);
    x.Set("status", z.status);
    x.Set("nsPgid", z.ns_pgid);
    x.Set("nsSid", z.ns_sid);
    x.Set("comm", z.comm);
    zs.Set(uint32_t(i), x);
  }
  o.Set("zombies", zs);
  process_state_to_js(env, img, o);
  if (img.sysv_ipc_length) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("offset", u64s(env, img.sysv_ipc_offset));
    x.Set("length", u64s(env, img.sysv_ipc_length));
    x.Set("crc32c", img.sysv_ipc_crc32c);
    o.Set("sysvIpc", x);
  }
  o.Set("pagesCodec", uint32_t(img.pages_codec));
  Napi::Array fr = Napi::Array::New(env, img.page_frames.size());
  for (size_t i = 0; i < img.page_frames.size(); i++) {
    const PageFrame &f = img.page_frames[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("logical", u64s(env, f.logical));
    x.Set("offset", u64s(env, f.offset));
    x.Set("length", u64s(env, f.length));
    x.Set("rawLength", u64s(env, f.raw_length));
    fr.Set(uint32_t(i), x);
  }
  o.Set("pageFrames", fr);
  return o;
}

ProcessImage image_from_js(const Napi::Value &val, bool page_crcs) {
  if (!val.IsObject()) throw std::runtime_error("image: expected an object");
  Napi::Object o = val.As<Napi::Object>();
  ProcessImage img;
  img.format_version = u32(o, "formatVersion");
  img.cairn_version = str(o, "cairnVersion");
  img.ns_pid = i32(o, "nsPid");
  img.ns_ppid = i32(o, "nsPpid");
  img.comm = str(o, "comm");
  img.exe = str(o, "exe");
  img.cwd = str(o, "cwd");
  bool has_umask = !absent(field(o, "umask"));
  img.umask = has_umask ? u32(o, "umask") : 022;
  img.hostname = str(o, "hostname");
  {
    Napi::Object m = obj(o, "mm");
    MmState &mm = img.mm;
    mm.start_code = u64(m, "startCode");
    mm.end_code = u64(m, "endCode");
    mm.start_data = u64(m, "startData");
    mm.end_data = u64(m, "endData");
    mm.start_brk = u64(m, "startBrk");
    mm.brk = u64(m, "brk");
    mm.start_stack = u64(m, "startStack");
    mm.arg_start = u64(m, "argStart");
    mm.arg_end = u64(m, "argEnd");
    mm.env_start = u64(m, "envStart");
    mm.env_end = u64(m, "envEnd");
  }
  img.auxv = buf(o, "auxv");
  Napi::Array threads = arr(o, "threads");
  for (uint32_t i = 0; i < threads.Length(); i++) {
    Napi::Object x = elem(threads, i, "threads");
    ThreadImage t;
    t.tid = i32(x, "tid");
    t.regs = buf(x, "regs");
    t.xstate = buf(x, "xstate");
    t.sigmask = u64(x, "sigmask");
    t.clear_child_tid = u64(x, "clearChildTid");
    t.robust_list = u64(x, "robustList");
    t.robust_list_len = u64(x, "robustListLen");
    t.rseq_ptr = u64(x, "rseqPtr");
    t.rseq_len = u32(x, "rseqLen");
    t.rseq_sig = u32(x, "rseqSig");
    t.altstack_sp = u64(x, "altstackSp");
    t.altstack_size = u64(x, "altstackSize");
    t.altstack_flags = i32(x, "altstackFlags");
    thread_state_from_js(x, t);
    img.threads.push_back(std::move(t));
  }
  Napi::Array vmas = arr(o, "vmas");
  for (uint32_t i = 0; i < vmas.Length(); i++) {
    Napi::Object x = elem(vmas, i, "vmas");
    VmaImage v;
    v.start = u64(x, "start");
    v.end = u64(x, "end");
    v.prot = u32(x, "prot");
    v.kind = VmaKind(u32(x, "kind"));
    if (v.kind > VMA_SYSV_SHM) throw std::runtime_error("image field vmas.kind: unknown kind " + std::to_string(v.kind));
    v.path = str(x, "path");
    v.pgoff = u64(x, "pgoff");
    v.file = file_from(obj(x, "file"));
    v.runs = runs_from_js(x, page_crcs);
    v.name = str(x, "name");
    v.shared_file = u32(x, "sharedFile");
    v.flags = u32(x, "flags");
    v.sysv_shmid = i32(x, "sysvShmid");
    img.vmas.push_back(std::move(v));
  }
  Napi::Array fds = arr(o, "fds");
  for (uint32_t i = 0; i < fds.Length(); i++) {
    Napi::Object x = elem(fds, i, "fds");
    FdImage f;
    f.fd = i32(x, "fd");
    f.kind = FdKind(u32(x, "kind"));
    if (f.kind > FD_KIND_LAST) throw std::runtime_error("image field fds.kind: unknown kind " + std::to_string(f.kind));
    f.path = str(x, "path");
    f.flags = u32(x, "flags");
    f.cloexec = boolean(x, "cloexec");
    f.pos = u64(x, "pos");
    f.size = u64(x, "size");
    f.file = file_from(obj(x, "file"));
    f.inherited_index = u32(x, "inheritedIndex");
    fd_kinds_from_js(x, f);
    img.fds.push_back(std::move(f));
  }
  Napi::Array sas = arr(o, "sigactions");
  for (uint32_t i = 0; i < sas.Length(); i++) {
    Napi::Object x = elem(sas, i, "sigactions");
    img.sigactions.push_back(
        SigActionImage{i32(x, "sig"), u64(x, "handler"), u64(x, "flags"), u64(x, "restorer"), u64(x, "mask")});
  }
  Napi::Array rl = arr(o, "rlimits");
  for (uint32_t i = 0; i < rl.Length(); i++) {
    Napi::Object x = elem(rl, i, "rlimits");
    img.rlimits.push_back(RlimitImage{i32(x, "resource"), u64(x, "cur"), u64(x, "max")});
  }
  {
    Napi::Object c = obj(o, "clocks");
    img.clocks.monotonic_ns = i64(c, "monotonicNs");
    img.clocks.boottime_ns = i64(c, "boottimeNs");
    img.clocks.realtime_ns = i64(c, "realtimeNs");
  }
  {
    Napi::Object s = obj(o, "special");
    SpecialMappings &sp = img.special;
    sp.vvar_start = u64(s, "vvarStart");
    sp.vvar_end = u64(s, "vvarEnd");
    sp.vvar_vclock_start = u64(s, "vvarVclockStart");
    sp.vvar_vclock_end = u64(s, "vvarVclockEnd");
    sp.vdso_start = u64(s, "vdsoStart");
    sp.vdso_end = u64(s, "vdsoEnd");
  }
  img.pages_bytes = u64(o, "pagesBytes");
  Napi::Array argv = arr(o, "argv");
  for (uint32_t i = 0; i < argv.Length(); i++) {
    Napi::Value a = argv.Get(i);
    if (!a.IsString()) bad("argv", "an array of strings");
    img.argv.push_back(a.As<Napi::String>().Utf8Value());
  }
  img.shared_files = shared_files_from_js(arr(o, "sharedFiles"));
  img.pipes = pipes_from_js(arr(o, "pipes"));
  img.ptys = ptys_from_js(arr(o, "ptys"));
  img.tmpfs_files = tmpfs_from_js(arr(o, "tmpfsFiles"));
  {
    Napi::Array notes = arr(o, "notes");
    for (uint32_t i = 0; i < notes.Length(); i++) img.notes.push_back(notes.Get(i).ToString().Utf8Value());
  }
  img.sockets = sockets_from_js(arr(o, "sockets"));
  img.ns_pgid = i32(o, "nsPgid");
  img.ns_sid = i32(o, "nsSid");
  Napi::Array zs = arr(o, "zombies");
  for (uint32_t i = 0; i < zs.Length(); i++) {
    Napi::Object x = elem(zs, i, "zombies");
    img.zombies.push_back(ZombieImage{i32(x, "nsPid"), i32(x, "status"), i32(x, "nsPgid"), i32(x, "nsSid"), str(x, "comm")});
  }
  process_state_from_js(o, img);
  {
    Napi::Object x = obj(o, "sysvIpc");
    img.sysv_ipc_offset = u64(x, "offset");
    img.sysv_ipc_length = u64(x, "length");
    img.sysv_ipc_crc32c = u32(x, "crc32c");
  }
  const uint32_t codec = u32(o, "pagesCodec");
  if (codec > CODEC_GZIP) throw std::runtime_error("image: unknown page codec " + std::to_string(codec));
  img.pages_codec = PageCodec(codec);
  Napi::Array fr = arr(o, "pageFrames");
  for (uint32_t i = 0; i < fr.Length(); i++) {
    Napi::Object x = elem(fr, i, "pageFrames");
    img.page_frames.push_back(PageFrame{u64(x, "logical"), u64(x, "offset"), u64(x, "length"), u64(x, "rawLength")});
  }
  return img;
}

}  // namespace cairn
