#pragma once
#include <napi.h>

namespace cairn {
// exports.tcpRemote: candidates, drain, listen, accept, connect, echo, premade, close.
void add_tcp_remote_exports(Napi::Env env, Napi::Object exports);
}  // namespace cairn
