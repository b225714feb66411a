// JS bindings of the TCP connections between hosts (sockets.cc): called on the agent's JS
// thread (no ptrace: the engine thread is not needed), blocking for a bounded time.
#include "tcp_remote_js.h"

#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>

#include <stdexcept>

#include "image_js.h"
#include "sockets.h"

namespace cairn {
namespace {

Napi::Value guarded(const Napi::CallbackInfo &info, const std::function<Napi::Value()> &f) {
  try {
    return f();
  } catch (const Napi::Error &) {
    throw;
  } catch (const std::exception &e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

// Work off the JS thread (it may wait seconds for the other host's agent), answered by a
// promise.
class Worker : public Napi::AsyncWorker {
 public:
  Worker(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> result)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)), result_(std::move(result)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      work_();
    } catch (const std::exception &e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(result_ ? result_(Env()) : Env().Undefined()); }
  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> result_;
};

Napi::Value queue(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> result = nullptr) {
  auto *w = new Worker(env, std::move(work), std::move(result));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

std::vector<uint8_t> buffer_of(const Napi::Value &v) {
  if (!v.IsBuffer()) throw std::runtime_error("expected a Buffer");
  auto b = v.As<Napi::Buffer<uint8_t>>();
  return std::vector<uint8_t>(b.Data(), b.Data() + b.Length());
}

Napi::Value Candidates(const Napi::CallbackInfo &info) {
  return guarded(info, [&]() -> Napi::Value {
    std::vector<TcpEnd> ends = remote_tcp_candidates();
    Napi::Array a = Napi::Array::New(info.Env(), ends.size());
    for (size_t i = 0; i < ends.size(); i++) {
      Napi::Object o = Napi::Object::New(info.Env());
      o.Set("local", ends[i].local);
      o.Set("peer", ends[i].peer);
      o.Set("written", std::to_string(ends[i].written));
      a.Set(uint32_t(i), o);
    }
    return a;
  });
}

Napi::Value Drain(const Napi::CallbackInfo &info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Array a = info[0].As<Napi::Array>();
    std::vector<TcpEnd> ends;
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Object o = a.Get(i).As<Napi::Object>();
      ends.push_back(TcpEnd{o.Get("local").As<Napi::String>(), o.Get("peer").As<Napi::String>(), js_u64(o.Get("written"), "written")});
    }
    const int ms = info[1].As<Napi::Number>().Int32Value();
    return queue(info.Env(), [ends, ms] { drain_remote_tcp(ends, ms); });
  });
}

Napi::Value EchoPending(const Napi::CallbackInfo &info) {
  const int ms = info[0].As<Napi::Number>().Int32Value();
  if (!has_remote_pending()) return queue(info.Env(), [] {});
  return queue(info.Env(), [ms] { echo_remote_pending(ms); });
}

Napi::Value Pending(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), has_remote_pending()); }

Napi::Value Listen(const Napi::CallbackInfo &info) {
  return guarded(info, [&]() -> Napi::Value {
    uint16_t port = 0;
    const int fd = tcp_listen_any(info[0].As<Napi::Boolean>().Value() ? AF_INET6 : AF_INET, port);
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("fd", fd);
    o.Set("port", port);
    return o;
  });
}

Napi::Value Accept(const Napi::CallbackInfo &info) {
  return guarded(info, [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), tcp_accept_one(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value()));
  });
}

Napi::Value Connect(const Napi::CallbackInfo &info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Array a = info[0].As<Napi::Array>();
    std::vector<std::string> addrs;
    for (uint32_t i = 0; i < a.Length(); i++) addrs.push_back(a.Get(i).As<Napi::String>());
    return Napi::Number::New(info.Env(), tcp_connect_any(addrs, info[1].As<Napi::Number>().Int32Value()));
  });
}

Napi::Value Echo(const Napi::CallbackInfo &info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Array a = info[0].As<Napi::Array>();
    std::vector<EchoEnd> ends;
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Object o = a.Get(i).As<Napi::Object>();
      ends.push_back(EchoEnd{o.Get("fd").As<Napi::Number>().Int32Value(), buffer_of(o.Get("bytes")), {}, o.Get("what").As<Napi::String>()});
    }
    const int ms = info[1].As<Napi::Number>().Int32Value();
    auto shared = std::make_shared<std::vector<EchoEnd>>(std::move(ends));
    return queue(info.Env(), [shared, ms] { echo_tcp(*shared, ms); }, [shared](Napi::Env env) -> Napi::Value {
      Napi::Array out = Napi::Array::New(env, shared->size());
      for (size_t i = 0; i < shared->size(); i++)
        out.Set(uint32_t(i), Napi::Buffer<uint8_t>::Copy(env, (*shared)[i].left.data(), (*shared)[i].left.size()));
      return out;
    });
  });
}

Napi::Value Premade(const Napi::CallbackInfo &info) {
  return guarded(info, [&]() -> Napi::Value {
    set_premade_tcp(js_u64(info[0], "ino"), info[1].As<Napi::Number>().Int32Value(), buffer_of(info[2]));
    return info.Env().Undefined();
  });
}

Napi::Value CloseFd(const Napi::CallbackInfo &info) {
  close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

}  // namespace

void add_tcp_remote_exports(Napi::Env env, Napi::Object exports) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("candidates", Napi::Function::New(env, Candidates, "candidates"));
  o.Set("drain", Napi::Function::New(env, Drain, "drain"));
  o.Set("listen", Napi::Function::New(env, Listen, "listen"));
  o.Set("accept", Napi::Function::New(env, Accept, "accept"));
  o.Set("connect", Napi::Function::New(env, Connect, "connect"));
  o.Set("echo", Napi::Function::New(env, Echo, "echo"));
  o.Set("echoPending", Napi::Function::New(env, EchoPending, "echoPending"));
  o.Set("pending", Napi::Function::New(env, Pending, "pending"));
  o.Set("premade", Napi::Function::New(env, Premade, "premade"));
  o.Set("close", Napi::Function::New(env, CloseFd, "close"));
  exports.Set("tcpRemote", o);
}

}  // namespace cairn
