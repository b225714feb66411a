// node-addon-api glue: createEngine() and the Engine methods of agent/engine-api.ts.
// Arguments are converted on the JS thread, the work runs on the engine thread, and the
// result is converted back on the JS thread through a thread-safe function. That function
// is referenced only while a call is pending, so an idle engine never keeps node alive.
#include <napi.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <stdexcept>

#include "tcp_remote_js.h"
#include "monotonic.h"
#include "crc32c.h"
#include "engine_thread.h"
#include "image_js.h"
#include "job_objects.h"
#include "namespaces.h"
#include "process.h"
#include "progress.h"
#include "restore.h"
#include "sharing.h"
#include "sockets.h"
#include "threads.h"

extern char **environ;

namespace cairn {
namespace {

struct JobResult {
  pid_t pid = 0, ns_pid = 0, init_pid = 0, helper_pid = 0;
  bool has_offsets = false;   // a restore: the time namespace's offsets
  int64_t mono_offset_ns = 0, boot_offset_ns = 0;
};

Napi::Object job_js(Napi::Env env, const JobResult &j) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", j.pid);
  o.Set("nsPid", j.ns_pid);
  o.Set("initPid", j.init_pid);
  o.Set("helperPid", j.helper_pid);
  if (j.has_offsets) {
    Napi::Object t = Napi::Object::New(env);
    t.Set("monotonicNs", std::to_string(j.mono_offset_ns));
    t.Set("boottimeNs", std::to_string(j.boot_offset_ns));
    o.Set("timeOffsets", t);
  }
  return o;
}

uint64_t pidns_of(pid_t pid) {
  struct stat st;
  if (stat(("/proc/" + std::to_string(pid) + "/ns/pid").c_str(), &st) < 0) return 0;
  return uint64_t(st.st_ino);
}

// --- argument helpers (JS thread); they throw Napi::TypeError ---

Napi::Object arg_obj(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() <= i || !info[i].IsObject()) throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected an object");
  return info[i].As<Napi::Object>();
}
int arg_int(const Napi::Value &v, const char *what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a number");
  return v.As<Napi::Number>().Int32Value();
}
std::string arg_str(const Napi::Value &v, const char *what) {
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a string");
  return v.As<Napi::String>().Utf8Value();
}
std::vector<std::string> arg_strs(const Napi::Value &v, const char *what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(arg_str(a.Get(i), what));
  return out;
}
std::vector<int> arg_ints(const Napi::Value &v, const char *what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected an array of numbers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int> out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(arg_int(a.Get(i), what));
  return out;
}
void time_offsets(const Napi::Value &v, int64_t &mono, int64_t &boot) {
  mono = boot = 0;
  if (v.IsUndefined() || v.IsNull()) return;
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), "timeOffsets: expected an object");
  Napi::Object o = v.As<Napi::Object>();
  mono = js_i64(o.Get("monotonicNs"), "timeOffsets.monotonicNs");
  boot = js_i64(o.Get("boottimeNs"), "timeOffsets.boottimeNs");
}

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {InstanceMethod("launch", &Engine::Launch), InstanceMethod("waitExit", &Engine::WaitExit),
                        InstanceMethod("freeze", &Engine::Freeze), InstanceMethod("dump", &Engine::Dump),
                        InstanceMethod("precopy", &Engine::Precopy),
                        InstanceMethod("dropPrecopies", &Engine::DropPrecopies),
                        InstanceMethod("finishDump", &Engine::FinishDump), InstanceMethod("discardDumps", &Engine::DiscardDumps),
                        InstanceMethod("thaw", &Engine::Thaw), InstanceMethod("releaseHeld", &Engine::ReleaseHeld),
                        InstanceMethod("verifyPages", &Engine::VerifyPages),
                        InstanceMethod("restore", &Engine::Restore), InstanceMethod("restoreGo", &Engine::RestoreGo),
                        InstanceMethod("kill", &Engine::Kill),
                        InstanceMethod("clocks", &Engine::Clocks), InstanceMethod("crc32c", &Engine::Crc32c),
                        InstanceMethod("progress", &Engine::GetProgress), InstanceMethod("resetProgress", &Engine::ResetProgress),
                        InstanceMethod("checkRestorable", &Engine::CheckRestorable),
                        InstanceMethod("openFileDescriptions", &Engine::OpenFileDescriptions),
                        InstanceMethod("sameMemory", &Engine::SameMemory),
                        InstanceMethod("ttyGet", &Engine::TtyGet), InstanceMethod("ttySet", &Engine::TtySet),
                        InstanceMethod("checkJobRestorable", &Engine::CheckJobRestorable),
                        InstanceMethod("close", &Engine::Close)});
  }

  explicit Engine(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Engine>(info) {
    Napi::Env env = info.Env();
    shared_->tsfn = Napi::ThreadSafeFunction::New(
        env, Napi::Function::New(env, [](const Napi::CallbackInfo &) {}), "cairn-engine", 0, 1);
    shared_->tsfn.Unref(env);
    try {
      thread_ = std::make_unique<EngineThread>();
    } catch (const std::exception &e) {
      shared_->tsfn.Release();
      shared_->released = true;
      throw Napi::Error::New(env, e.what());
    }
    env.AddCleanupHook(&Engine::Cleanup, this);
    cleanup_hooked_ = true;
  }

  ~Engine() override {
    Shutdown();
    if (cleanup_hooked_) napi_remove_env_cleanup_hook(Env(), &Engine::Cleanup, this);
  }

 private:
  // One JS call in flight. `deferred` is touched on the JS thread only.
  struct Call {
    explicit Call(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
    Napi::Promise::Deferred deferred;
    std::function<Napi::Value(Napi::Env)> result;   // set by the work on success
    std::string error;
  };

  static void Cleanup(void *self) {
    auto *e = static_cast<Engine *>(self);
    e->cleanup_hooked_ = false;
    e->Shutdown();
  }

  void Shutdown() {
    if (thread_) thread_->stop();   // cancels what is pending (answers are queued below)
    thread_.reset();
    if (!shared_->released) {
      shared_->released = true;
      shared_->tsfn.Release();
    }
  }

  // Engine thread (or any thread): hand the call back to JS. The callback holds only the
  // shared state, so it is safe even if the Engine object is gone by then.
  void Finish(Call *c) {
    std::shared_ptr<Shared> sh = shared_;
    napi_status s = sh->tsfn.NonBlockingCall(c, [sh](Napi::Env env, Napi::Function, Call *call) {
      if (env != nullptr) {
        Napi::HandleScope scope(env);
        if (call->error.empty()) {
          try {
            call->deferred.Resolve(call->result ? call->result(env) : env.Undefined());
          } catch (const std::exception &e) {
            call->deferred.Reject(Napi::Error::New(env, e.what()).Value());
          }
        } else {
          call->deferred.Reject(Napi::Error::New(env, call->error).Value());
        }
        if (--sh->pending == 0 && !sh->released) sh->tsfn.Unref(env);
      }
      delete call;
    });
    (void)s;   // not ok only while the environment shuts down: nobody is left to answer
  }

  // `work` runs on the engine thread; it returns true when the call is complete, false when
  // it has arranged to Finish it later (waitExit).
  Napi::Value Submit(Napi::Env env, std::function<bool(Call *)> work) {
    auto *c = new Call(env);
    Napi::Promise promise = c->deferred.Promise();
    if (!thread_) {
      c->deferred.Reject(Napi::Error::New(env, "the engine is closed").Value());
      delete c;
      return promise;
    }
    if (shared_->pending++ == 0) shared_->tsfn.Ref(env);
    thread_->post(EngineThread::Task{[this, c, work] {
                                       bool done = true;
                                       try {
                                         done = work(c);
                                       } catch (const std::exception &e) {
                                         c->error = e.what();
                                         if (c->error.empty()) c->error = "engine error";
                                       } catch (...) {
                                         c->error = "engine error";
                                       }
                                       if (done) Finish(c);
                                     },
                                     [this, c](const std::string &why) {
                                       c->error = why;
                                       Finish(c);
                                     }});
    return promise;
  }

  // ---------------------------------------------------------------- launch
  Napi::Value Launch(const Napi::CallbackInfo &info) {
    Napi::Object o = arg_obj(info, 0, "launch options");
    auto argv = arg_strs(o.Get("argv"), "argv");
    auto envv = arg_strs(o.Get("env"), "env");
    std::string cwd = arg_str(o.Get("cwd"), "cwd");
    auto stdio = arg_ints(o.Get("stdio"), "stdio");
    std::string nsinit = arg_str(o.Get("nsinitPath"), "nsinitPath");
    if (argv.empty()) throw Napi::TypeError::New(info.Env(), "argv: must not be empty");
    if (stdio.size() != 3) throw Napi::TypeError::New(info.Env(), "stdio: expected three descriptors");
    return Submit(info.Env(), [=, this](Call *c) {
      const std::string &prog = argv[0];
      if (prog.empty() || prog[0] != '/') throw std::runtime_error("cannot launch " + prog + ": not an absolute path");
      if (access(prog.c_str(), X_OK) < 0) throw std::runtime_error("cannot launch " + prog + ": " + errno_str(errno));
      if (access(prog.c_str(), R_OK) < 0)
        throw std::runtime_error("cannot launch " + prog +
                                 ": it is not readable by you, so it could never be checkpointed (ptrace refuses it)");
      struct stat st;
      int cwd_err = stat(cwd.c_str(), &st) < 0 ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR
                                                 : access(cwd.c_str(), X_OK) < 0 ? errno : 0;
      if (cwd_err)
        throw std::runtime_error("cannot launch " + prog + ": working directory " + cwd + ": " + errno_str(cwd_err));
      std::vector<std::string> args = {"launch", "--"};
      args.insert(args.end(), argv.begin(), argv.end());
      NsinitProcess p = spawn_nsinit(nsinit, args, stdio, envv, cwd);
      try {
        nsinit_handshake(p);
        nsinit_go(p);
      } catch (...) {
        nsinit_abort(p);
        throw;
      }
      JobResult j;
      j.pid = p.child_pid;
      j.ns_pid = ns_tid_of(p.child_pid);
      j.init_pid = p.init_pid;
      j.helper_pid = p.helper_pid;
      thread_->add_helper(p.helper_pid, p.helper_pidfd, p.init_pid);
      c->result = [j](Napi::Env env) -> Napi::Value { return job_js(env, j); };
      return true;
    });
  }

  // ---------------------------------------------------------------- waitExit
  Napi::Value WaitExit(const Napi::CallbackInfo &info) {
    if (info.Length() < 1) throw Napi::TypeError::New(info.Env(), "waitExit: expected the helper pid");
    pid_t helper = arg_int(info[0], "helperPid");
    return Submit(info.Env(), [=, this](Call *c) {
      if (!thread_->knows_helper(helper))
        throw std::runtime_error("waitExit: pid " + std::to_string(helper) + " is not a job started by this engine");
      thread_->wait_helper(helper, [this, c](int status, const std::string *err) {
        if (err) {
          c->error = *err;
        } else {
          c->result = [status](Napi::Env env) -> Napi::Value {
            Napi::Object o = Napi::Object::New(env);
            o.Set("status", status);
            return o;
          };
        }
        Finish(c);
      });
      return false;
    });
  }

  // ---------------------------------------------------------------- freeze / thaw
  Napi::Value Freeze(const Napi::CallbackInfo &info) {
    if (info.Length() < 1) throw Napi::TypeError::New(info.Env(), "freeze: expected an array of pids");
    auto pids = arg_ints(info[0], "pids");
    return Submit(info.Env(), [=, this](Call *c) {
      std::vector<std::pair<pid_t, int>> done;
      std::vector<pid_t> fresh;
      // A writer still held while its bytes in flight are sent: the stream is split between
      // the kernel's queues and the pump; the checkpoint waits for a later try.
      std::vector<std::string> perrors;
      release_pumped(perrors);
      for (pid_t pid : pids)
        if (pumping(pid))
          throw std::runtime_error("process " + std::to_string(pid) + " (" + comm_of(pid) +
                                   ") still has TCP bytes in flight from the last checkpoint or restart to send (its reader has not made room for them yet): try again later");
      try {
        for (pid_t pid : pids) {
          auto it = thread_->traced.find(pid);
          if (it != thread_->traced.end()) {   // already frozen: nothing to do
            done.emplace_back(pid, int(it->second.tids.size()));
            continue;
          }
          EngineThread::Traced tr;
          tr.pidns = pidns_of(pid);
          tr.tids = freeze_threads(pid);
          thread_->traced[pid] = tr;
          fresh.push_back(pid);
          done.emplace_back(pid, int(tr.tids.size()));
        }
      } catch (...) {
        for (pid_t p : fresh) {   // leave nothing attached that this call attached
          detach_threads(thread_->traced[p].tids);
          thread_->traced.erase(p);
        }
        throw;
      }
      c->result = [done](Napi::Env env) -> Napi::Value {
        Napi::Array a = Napi::Array::New(env, done.size());
        for (size_t i = 0; i < done.size(); i++) {
          Napi::Object o = Napi::Object::New(env);
          o.Set("pid", done[i].first);
          o.Set("threads", done[i].second);
          a.Set(uint32_t(i), o);
        }
        return a;
      };
      return true;
    });
  }

  Napi::Value Thaw(const Napi::CallbackInfo &info) {
    if (info.Length() < 1) throw Napi::TypeError::New(info.Env(), "thaw: expected an array of pids");
    auto pids = arg_ints(info[0], "pids");
    return Submit(info.Env(), [=, this](Call *) {
      // A process holding the sending end of a TCP connection whose drained bytes did not
      // all fit back stays frozen until they are sent: the others run (and read) first.
      std::vector<pid_t> held;
      for (pid_t pid : pids) {
        auto it = thread_->traced.find(pid);
        if (it == thread_->traced.end()) continue;   // not frozen (or already thawed): nothing to do
        if (has_pending_refills(pid)) {
          held.push_back(pid);
          continue;
        }
        detach_threads(it->second.tids);
        thread_->traced.erase(it);
      }
      // Their bytes go on a pump thread; releaseHeld lets them go once it is done.
      std::vector<Refill> rs;
      for (pid_t pid : held)
        for (Refill &r : take_pending_refills(pid)) rs.push_back(std::move(r));
      if (!rs.empty()) start_pump(held, std::move(rs));
      return true;
    });
  }

  // Lets go the processes whose held bytes are all sent (see Thaw). Resolves to
  // { held: processes still held, errors: what a pump could not send }.
  Napi::Value ReleaseHeld(const Napi::CallbackInfo &info) {
    return Submit(info.Env(), [this](Call *c) {
      std::vector<std::string> errors;
      release_pumped(errors);
      int held = 0;
      for (const auto &[pid, tr] : thread_->traced)
        if (pumping(pid)) held++;
      c->result = [held, errors](Napi::Env env) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("held", held);
        Napi::Array a = Napi::Array::New(env, errors.size());
        for (size_t i = 0; i < errors.size(); i++) a.Set(uint32_t(i), errors[i]);
        o.Set("errors", a);
        return o;
      };
      return true;
    });
  }

  // Engine thread: detach the processes whose pumps have finished.
  void release_pumped(std::vector<std::string> &errors) {
    for (pid_t pid : take_pumped(errors)) {
      auto it = thread_->traced.find(pid);
      if (it == thread_->traced.end()) continue;
      detach_threads(it->second.tids);
      thread_->traced.erase(it);
    }
  }

  // ---------------------------------------------------------------- dump
  // The `compress` option of dump and precopy (absent: none).
  static Codec codec_option(Napi::Env env, const Napi::Object &o, const char *call) {
    Codec c;
    if (Napi::Value cv = o.Get("compress"); cv.IsString()) {
      try {
        c = parse_codec(cv.As<Napi::String>().Utf8Value());
      } catch (const std::exception &e) {
        throw Napi::TypeError::New(env, std::string(call) + ": compress: " + e.what());
      }
    }
    return c;
  }

  // The `base` option of dump and precopy ({ file, image }: the last image of the process);
  // null when absent.
  static std::shared_ptr<ProcessImage> base_image(Napi::Env env, const Napi::Object &o, const char *call, std::string &file) {
    Napi::Value bv = o.Get("base");
    if (!bv.IsObject()) return nullptr;
    Napi::Object bo = bv.As<Napi::Object>();
    std::shared_ptr<ProcessImage> base;
    try {
      base = std::make_shared<ProcessImage>(image_from_js(bo.Get("image")));
    } catch (const std::runtime_error &e) {
      throw Napi::TypeError::New(env, std::string(call) + ": base: " + e.what());
    }
    file = arg_str(bo.Get("file"), "base.file");
    return base;
  }

  Napi::Value Dump(const Napi::CallbackInfo &info) {
    if (info.Length() < 1) throw Napi::TypeError::New(info.Env(), "dump: expected a pid");
    pid_t pid = arg_int(info[0], "pid");
    Napi::Object o = arg_obj(info, 1, "dump options");
    DumpOptions opts;
    opts.image_path = arg_str(o.Get("imagePath"), "imagePath");
    Napi::Value sv = o.Get("stdioIdentity");
    if (sv.IsArray()) {
      Napi::Array a = sv.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) {
        StdioIdentity id;
        Napi::Value e = a.Get(i);
        if (e.IsObject()) {
          Napi::Object eo = e.As<Napi::Object>();
          id.valid = true;
          id.dev = js_u64(eo.Get("dev"), "stdioIdentity.dev");
          id.ino = js_u64(eo.Get("ino"), "stdioIdentity.ino");
        }
        opts.stdio.push_back(id);
      }
    }
    time_offsets(o.Get("timeOffsets"), opts.mono_offset_ns, opts.boot_offset_ns);
    opts.codec = codec_option(info.Env(), o, "dump");
    opts.snapshot = o.Get("snapshot").ToBoolean();
    const bool track = o.Get("track").ToBoolean();
    std::shared_ptr<ProcessImage> base = base_image(info.Env(), o, "dump", opts.base_file);
    if (Napi::Value rv = o.Get("reaper"); rv.IsNumber()) opts.reaper = arg_int(rv, "reaper");
    return Submit(info.Env(), [=, this](Call *c) mutable {
      auto it = thread_->traced.find(pid);
      if (it == thread_->traced.end()) fail_pid(pid, "cannot dump: not frozen (freeze it first)");
      opts.leader_of = [this](pid_t p) -> pid_t {
        auto t = thread_->traced.find(p);
        return t == thread_->traced.end() || t->second.tids.empty() ? 0 : t->second.tids[0];
      };
      pending_.erase(pid);
      std::shared_ptr<cairn::Precopy> pre;
      if (auto pc = precopies_.find(pid); pc != precopies_.end()) {
        pre = std::move(pc->second);
        precopies_.erase(pc);
      }
      const auto same_codec = [&](const Codec &c) { return c.kind == opts.codec.kind && c.level == opts.codec.level; };
      if (pre && (pre->image_path != opts.image_path || !same_codec(pre->codec) || (track && pre->codec.kind != CODEC_NONE))) {
        // Not this image after all (the process changed its name since, or the checkpoint
        // is not the one the copy was made for): given up, and with it what its tracker knew.
        if (pre->image_path != opts.image_path) unlink(pre->image_path.c_str());
        if (auto tr = trackers_.find(pid); tr != trackers_.end()) tr->second->base_lost = true;
        pre.reset();
      }
      // A compressed image is not tracked (never referred to), but one continuing a copy made
      // before the freeze needs the tracker that saw the writes since.
      if (track || pre) {
        Tracker &t = tracker_of(pid);
        opts.tracker = &t;
        if (pre) {
          opts.base = &pre->image;
          opts.base_file.clear();
          opts.precopy = pre.get();
        } else {
          opts.base = t.uffd >= 0 && !t.base_lost ? base.get() : nullptr;
        }
        t.base_lost = false;   // this image is full, or refers to what is known
      }
      std::shared_ptr<PendingDump> p = dump_process(pid, it->second.tids, opts);
      pending_[pid] = p;
      c->result = [p](Napi::Env env) -> Napi::Value {
        Napi::Object r = Napi::Object::New(env);
        r.Set("image", image_to_js(env, p->res.image, PageCrcsOut{false, nullptr}));   // finishDump brings them
        r.Set("extrasEnd", double(p->extras_end));
        r.Set("snapshot", p->snapshot != 0);
        r.Set("noSnapshot", p->no_snapshot);
        r.Set("referenced", double(p->res.referenced));
        r.Set("noTracking", p->res.no_tracking);
        return r;
      };
      return true;
    });
  }

  // The process's tracker (made unarmed when it has none). A tracker is only ever used for
  // the process it was made for (not a reused pid): those of processes gone are closed.
  // Engine thread.
  Tracker &tracker_of(pid_t pid) {
    for (auto tr = trackers_.begin(); tr != trackers_.end();) tr = tr->second->alive() ? std::next(tr) : trackers_.erase(tr);
    auto &slot = trackers_[pid];
    if (!slot) slot = std::make_unique<Tracker>();
    return *slot;
  }

  // Before the freeze: the memory of a running process copied into its image (precopy.h),
  // which the next dump of it continues. Arms its tracker first if needed (the process is
  // stopped for that moment only). Resolves to { stored, referenced } or { skipped: why }.
  Napi::Value Precopy(const Napi::CallbackInfo &info) {
    if (info.Length() < 1) throw Napi::TypeError::New(info.Env(), "precopy: expected a pid");
    pid_t pid = arg_int(info[0], "pid");
    Napi::Object o = arg_obj(info, 1, "precopy options");
    const std::string image_path = arg_str(o.Get("imagePath"), "imagePath");
    const Codec codec = codec_option(info.Env(), o, "precopy");
    std::string base_file;
    std::shared_ptr<ProcessImage> base = base_image(info.Env(), o, "precopy", base_file);
    if (base && codec.kind != CODEC_NONE) throw Napi::TypeError::New(info.Env(), "precopy: a compressed image cannot have a base");
    return Submit(info.Env(), [=, this](Call *c) {
      if (thread_->traced.count(pid)) fail_pid(pid, "cannot copy its memory before the freeze: it is frozen already");
      precopies_.erase(pid);
      Tracker &t = tracker_of(pid);
      std::string why_not;
      const ProcessImage *b = t.base_lost ? nullptr : base.get();
      if (t.uffd < 0) {
        std::vector<pid_t> tids = freeze_threads(pid);
        try {
          arm_tracker(pid, tids[0], t, &why_not);   // t.uffd says whether it is armed
        } catch (...) {
          detach_threads(tids);
          throw;
        }
        detach_threads(tids);
        b = nullptr;   // nothing was tracked before: all of it is copied
      }
      std::shared_ptr<cairn::Precopy> pre;
      if (t.uffd >= 0) {
        try {
          pre = precopy_process(pid, t, b, base_file, image_path, codec);
        } catch (...) {
          t.base_lost = true;   // pages were protected again, and their copy is lost
          throw;
        }
        precopies_[pid] = pre;
      }
      c->result = [pre, why_not](Napi::Env env) -> Napi::Value {
        Napi::Object r = Napi::Object::New(env);
        r.Set("stored", pre ? double(pre->stored) : 0.0);
        r.Set("referenced", pre ? double(pre->referenced) : 0.0);
        if (!pre) r.Set("skipped", why_not);
        return r;
      };
      return true;
    });
  }

  // The pages of a dump whose frozen part is done (see Dump), from its snapshot, or from the
  // process, which must then still be frozen.
  Napi::Value FinishDump(const Napi::CallbackInfo &info) {
    if (info.Length() < 2) throw Napi::TypeError::New(info.Env(), "finishDump: expected a pid and dataStart");
    pid_t pid = arg_int(info[0], "pid");
    uint64_t data_start = js_u64(info[1], "dataStart");
    return Submit(info.Env(), [=, this](Call *c) {
      auto it = pending_.find(pid);
      if (it == pending_.end()) fail_pid(pid, "no dump of it is pending");
      std::shared_ptr<PendingDump> p = it->second;
      pending_.erase(it);
      if (!p->snapshot && !thread_->traced.count(pid)) fail_pid(pid, "cannot write its pages: it is no longer frozen");
      auto res = std::make_shared<DumpResult>(finish_dump(pid, *p, data_start));
      c->result = [res](Napi::Env env) -> Napi::Value {
        Napi::Object r = Napi::Object::New(env);
        r.Set("image", image_to_js(env, res->image, PageCrcsOut{true, res}));
        r.Set("pagesEnd", double(res->pages_end));
        Napi::Object t = Napi::Object::New(env);   // not in the API type: for benchmarks
        t.Set("stateMs", res->ms_state);
        t.Set("memoryMs", res->ms_memory);
        t.Set("pagesReadMs", res->ms_pages_read);
        t.Set("pagesStored", double(res->pages_stored));
        r.Set("timing", t);
        return r;
      };
      return true;
    });
  }

  // Copies made before the freeze that no dump continued (their process exited, or was not
  // dumped): their files are removed, and their trackers know no base any more.
  Napi::Value DropPrecopies(const Napi::CallbackInfo &info) {
    return Submit(info.Env(), [this](Call *) {
      for (auto &[pid, pre] : precopies_) {
        unlink(pre->image_path.c_str());
        if (auto tr = trackers_.find(pid); tr != trackers_.end()) tr->second->base_lost = true;
      }
      precopies_.clear();
      return true;
    });
  }

  // Gives up every pending dump (image files closed, snapshots dropped). `dropTrackers`:
  // the written-page trackers too (an aborted checkpoint has consumed what they saw).
  Napi::Value DiscardDumps(const Napi::CallbackInfo &info) {
    const bool drop = info.Length() > 0 && info[0].ToBoolean();
    return Submit(info.Env(), [this, drop](Call *) {
      pending_.clear();
      precopies_.clear();
      if (drop) trackers_.clear();
      return true;
    });
  }

  // ---------------------------------------------------------------- verifyPages / restore
  Napi::Value VerifyPages(const Napi::CallbackInfo &info) {
    if (info.Length() < 2) throw Napi::TypeError::New(info.Env(), "verifyPages: expected imagePath and image");
    std::string path = arg_str(info[0], "imagePath");
    std::shared_ptr<ProcessImage> img;
    try {
      img = std::make_shared<ProcessImage>(image_from_js(info[1]));
    } catch (const std::runtime_error &e) {
      throw Napi::TypeError::New(info.Env(), e.what());
    }
    return Submit(info.Env(), [=](Call *) {
      verify_pages(path, *img);
      return true;
    });
  }

  Napi::Value Restore(const Napi::CallbackInfo &info) {
    Napi::Object o = arg_obj(info, 0, "restore options");
    auto req = std::make_shared<RestoreRequest>();
    Napi::Value pv = o.Get("processes");
    if (!pv.IsArray()) throw Napi::TypeError::New(info.Env(), "restore: processes must be an array of { image, imagePath }");
    Napi::Array pa = pv.As<Napi::Array>();
    for (uint32_t i = 0; i < pa.Length(); i++) {
      Napi::Object po = pa.Get(i).As<Napi::Object>();
      RestoreProc rp;
      try {
        rp.image = image_from_js(po.Get("image"));
      } catch (const std::runtime_error &e) {
        throw Napi::TypeError::New(info.Env(), e.what());
      }
      rp.image_path = arg_str(po.Get("imagePath"), "imagePath");
      req->procs.push_back(std::move(rp));
    }
    req->nsinit_path = arg_str(o.Get("nsinitPath"), "nsinitPath");
    req->restorer_path = arg_str(o.Get("restorerPath"), "restorerPath");
    req->log_path = arg_str(o.Get("logPath"), "logPath");
    req->pass_fds = arg_ints(o.Get("passFds"), "passFds");
    Napi::Value h = o.Get("hostname");
    req->hostname = h.IsString() ? h.As<Napi::String>().Utf8Value() : std::string();
    time_offsets(o.Get("timeOffsets"), req->mono_offset_ns, req->boot_offset_ns);
    if (Napi::Value at = o.Get("offsetsAt"); at.IsObject()) {
      req->offsets_at_mono_ns = js_i64(at.As<Napi::Object>().Get("monotonicNs"), "offsetsAt.monotonicNs");
      req->offsets_at_boot_ns = js_i64(at.As<Napi::Object>().Get("boottimeNs"), "offsetsAt.boottimeNs");
    }
    if (Napi::Value cb = o.Get("cutBack"); cb.IsArray()) {
      Napi::Array a = cb.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) {
        if (!a.Get(i).IsObject()) throw Napi::TypeError::New(info.Env(), "restore: cutBack entries must be { path, size }");
        Napi::Object f = a.Get(i).As<Napi::Object>();
        const double size = f.Get("size").IsNumber() ? f.Get("size").As<Napi::Number>().DoubleValue() : -1;
        if (size < 0) throw Napi::TypeError::New(info.Env(), "restore: cutBack entries need a size >= 0");
        req->cut_back.emplace_back(arg_str(f.Get("path"), "cutBack path"), uint64_t(size));
      }
    }
    req->pages_checked = o.Get("pagesChecked").ToBoolean();
    req->wait_for_go = o.Get("waitForGo").ToBoolean();
    if (req->wait_for_go) restore_go_reset();
    for (char **e = environ; e && *e; e++) req->env.push_back(*e);
    return Submit(info.Env(), [=, this](Call *c) {
      JobProcessInfo ji = restore_job(*req);
      for (auto &[pid, tids] : ji.held) {   // frozen until their bytes in flight are sent
        EngineThread::Traced tr;
        tr.pidns = pidns_of(pid);
        tr.tids = tids;
        thread_->traced[pid] = tr;
      }
      int pidfd = ji.helper_pidfd >= 0 ? ji.helper_pidfd : int(syscall(SYS_pidfd_open, ji.helper_pid, 0));
      thread_->add_helper(ji.helper_pid, pidfd, ji.init_pid);
      JobResult j{ji.pid, ji.ns_pid, ji.init_pid, ji.helper_pid, true, ji.mono_offset_ns, ji.boot_offset_ns};
      c->result = [j](Napi::Env env) -> Napi::Value { return job_js(env, j); };
      return true;
    });
  }

  // Called while a restore with waitForGo runs on the engine thread: hence not Submit.
  Napi::Value RestoreGo(const Napi::CallbackInfo &info) {
    restore_go(info.Length() > 0 && info[0].ToBoolean());
    return info.Env().Undefined();
  }

  // ---------------------------------------------------------------- kill
  Napi::Value Kill(const Napi::CallbackInfo &info) {
    Napi::Object o = arg_obj(info, 0, "job");
    JobResult j;
    j.pid = o.Get("pid").IsNumber() ? arg_int(o.Get("pid"), "pid") : 0;
    j.init_pid = arg_int(o.Get("initPid"), "initPid");
    j.helper_pid = o.Get("helperPid").IsNumber() ? arg_int(o.Get("helperPid"), "helperPid") : 0;
    return Submit(info.Env(), [=, this](Call *) {
      EngineThread &et = *thread_;
      const bool ours = j.helper_pid > 0 && et.knows_helper(j.helper_pid);
      // A reaped helper means init is gone too and its pid may be reused: do not signal it.
      const bool alive = !ours || !et.reap_helper(j.helper_pid, 0);
      uint64_t ns = alive ? pidns_of(j.init_pid) : 0;
      if (ns == 0 && et.traced.count(j.pid)) ns = et.traced[j.pid].pidns;
      if (alive && j.init_pid > 0) ::kill(j.init_pid, SIGKILL);
      // Every traced task of that namespace dies with it and must be reaped by us, the tracer:
      // non-leader threads first (a traced leader is reported only after them), or init hangs
      // in zap_pid_ns_processes and the helper never exits.
      std::vector<pid_t> procs;
      for (auto &[pid, tr] : et.traced)
        if (pid == j.pid || (ns && tr.pidns == ns)) procs.push_back(pid);
      auto reap = [](pid_t tid) {
        for (int i = 0; i < 10000; i++) {   // at most ~10 s for one task
          int st;
          pid_t r = waitpid(tid, &st, __WALL | WNOHANG);
          if (r == tid && (WIFEXITED(st) || WIFSIGNALED(st))) return;
          if (r < 0) return;   // ECHILD: already gone
          timespec ts = {0, 1000000};
          nanosleep(&ts, nullptr);
        }
      };
      for (pid_t p : procs)
        for (pid_t t : et.traced[p].tids)
          if (t != p) reap(t);
      for (pid_t p : procs) reap(p);
      for (pid_t p : procs) et.traced.erase(p);
      if (ours && !et.reap_helper(j.helper_pid, 10000))
        throw std::runtime_error("job of init pid " + std::to_string(j.init_pid) +
                                 ": cairn-nsinit did not exit within 10 s of SIGKILL");
      return true;
    });
  }

  // ---------------------------------------------------------------- sync calls
  Napi::Value Clocks(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("monotonicNs", std::to_string(clock_ns(CLOCK_MONOTONIC)));
    o.Set("boottimeNs", std::to_string(clock_ns(CLOCK_BOOTTIME)));
    o.Set("realtimeNs", std::to_string(clock_ns(CLOCK_REALTIME)));
    return o;
  }

  // Read on the JS thread while the engine thread works (atomics: no request queued).
  Napi::Value GetProgress(const Napi::CallbackInfo &info) {
    Progress p = progress_get();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("done", double(p.done));
    o.Set("total", double(p.total));
    return o;
  }
  Napi::Value ResetProgress(const Napi::CallbackInfo &info) {
    progress_reset(0);
    return info.Env().Undefined();
  }

  Napi::Value Crc32c(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray())
      throw Napi::TypeError::New(env, "crc32c: expected a Buffer");
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    uint32_t seed = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
    const uint8_t *p = static_cast<const uint8_t *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    return Napi::Number::New(env, crc32c(seed, p, ta.ByteLength()));
  }

  // Builds (and drops) the restore plan: what would refuse the restore is found before a
  // restart changes anything on disk. No ptrace, so not on the engine thread.
  Napi::Value CheckRestorable(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, "checkRestorable(image, passedFds)");
    ProcessImage img = image_from_js(info[0], false);
    PassMap pm;
    for (uint32_t k = 0; k < info[1].As<Napi::Number>().Uint32Value(); k++) pm.inherited.push_back(int(k));
    // Pseudo-terminal ends are always made by the agent (ptys.cc), so always passed.
    pm.npassed = uint32_t(pm.inherited.size());
    for (const FdImage &f : img.fds)
      if (f.kind == FD_PTY) pm.by_fd[f.fd] = int(pm.npassed++);
    try {
      build_plan(img, pm);
    } catch (const std::exception &e) {
      throw Napi::Error::New(env, e.what());
    }
    return env.Undefined();
  }

  // kcmp only (no ptrace): answered on the JS thread, for processes the engine has frozen.
  Napi::Value OpenFileDescriptions(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "openFileDescriptions(pids)");
    Napi::Array a = info[0].As<Napi::Array>();
    std::vector<pid_t> pids;
    for (uint32_t i = 0; i < a.Length(); i++) pids.push_back(pid_t(a.Get(i).As<Napi::Number>().Int32Value()));
    std::vector<OfdId> ids;
    try {
      ids = open_file_descriptions(pids);
      // Connected UNIX sockets: the peer must be in the job. The launcher's stdio (the
      // agent's own 0..2) is the restarter's at restart, whatever it is.
      std::vector<std::pair<uint64_t, uint64_t>> stdio;
      for (int k = 0; k < 3; k++) {
        struct stat st;
        if (fstat(k, &st) == 0) stdio.emplace_back(uint64_t(st.st_dev), uint64_t(st.st_ino));
      }
      check_job_sockets(pids, stdio);
    } catch (const std::exception &e) {
      throw Napi::Error::New(env, e.what());
    }
    Napi::Array out = Napi::Array::New(env, ids.size());
    for (size_t i = 0; i < ids.size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("pid", ids[i].pid);
      o.Set("fd", ids[i].fd);
      o.Set("ofd", ids[i].ofd);
      out.Set(uint32_t(i), o);
    }
    return out;
  }

  // What the restart of these images together would refuse (shared objects between processes).
  Napi::Value CheckJobRestorable(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "checkJobRestorable(images)");
    Napi::Array a = info[0].As<Napi::Array>();
    std::vector<ProcessImage> imgs;
    try {
      for (uint32_t i = 0; i < a.Length(); i++) imgs.push_back(image_from_js(a.Get(i), false));
      std::vector<const ProcessImage *> ptrs;
      for (const ProcessImage &img : imgs) ptrs.push_back(&img);
      check_job_objects(ptrs);
    } catch (const std::exception &e) {
      throw Napi::Error::New(env, e.what());
    }
    return env.Undefined();
  }

  // A terminal's mode (struct termios, raw bytes) on one of the agent's descriptors: the
  // job's terminal is the launcher's, and a restarted job gets the restarter's in that mode.
  Napi::Value TtyGet(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "ttyGet(fd)");
    struct termios t;
    if (tcgetattr(info[0].As<Napi::Number>().Int32Value(), &t) < 0) return env.Null();
    return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t *>(&t), sizeof t);
  }

  Napi::Value TtySet(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBuffer()) throw Napi::TypeError::New(env, "ttySet(fd, termios)");
    Napi::Buffer<uint8_t> b = info[1].As<Napi::Buffer<uint8_t>>();
    struct termios t;
    if (b.Length() != sizeof t) throw Napi::Error::New(env, "terminal mode of another size (" + std::to_string(b.Length()) + " bytes)");
    memcpy(&t, b.Data(), sizeof t);
    if (tcsetattr(info[0].As<Napi::Number>().Int32Value(), TCSADRAIN, &t) < 0)
      throw Napi::Error::New(env, std::string("cannot set the terminal's mode: ") + strerror(errno));
    return env.Undefined();
  }

  Napi::Value SameMemory(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "sameMemory(pidA, pidB)");
    try {
      return Napi::Boolean::New(env, same_memory(pid_t(info[0].As<Napi::Number>().Int32Value()), pid_t(info[1].As<Napi::Number>().Int32Value())));
    } catch (const std::exception &e) {
      throw Napi::Error::New(env, e.what());
    }
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    Shutdown();
    return info.Env().Undefined();
  }

  struct Shared {
    Napi::ThreadSafeFunction tsfn;   // referenced only while pending > 0
    int pending = 0;                 // JS thread only
    bool released = false;
  };
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  // Dumps whose pages are still to be written (engine thread only; dropped after the thread,
  // whose end lets go of every snapshot, which then exits).
  std::map<pid_t, std::shared_ptr<PendingDump>> pending_;
  std::map<pid_t, std::unique_ptr<Tracker>> trackers_;   // written-page tracking (engine thread only)
  std::map<pid_t, std::shared_ptr<cairn::Precopy>> precopies_;   // copies made before the freeze (engine thread only)
  std::unique_ptr<EngineThread> thread_;
  bool cleanup_hooked_ = false;
};

Napi::Value CreateEngine(const Napi::CallbackInfo &info) {
  auto *ctor = info.Env().GetInstanceData<Napi::FunctionReference>();
  return ctor->New({});
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto *ctor = new Napi::FunctionReference(Napi::Persistent(Engine::Define(env)));
  env.SetInstanceData<Napi::FunctionReference>(ctor);
  exports.Set("createEngine", Napi::Function::New(env, CreateEngine, "createEngine"));
  add_tcp_remote_exports(env, exports);
  return exports;
}

}  // namespace
}  // namespace cairn

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return cairn::Init(env, exports); }

NODE_API_MODULE(cairn_engine, InitModule)
