#pragma once
#include <cstdint>

namespace cairn {

// written: every byte the program has written to the connection (acknowledged by the peer
// or still in the send queue); received: every byte the kernel has received in order. A
// connection whose two programs are frozen has all its bytes across when the receiver's
// `received` reaches the sender's `written`. False if the kernel does not tell.
bool tcp_bytes(int fd, uint64_t &written, uint64_t &received);

}  // namespace cairn
