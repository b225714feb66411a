// The kernel's byte counters of a TCP socket (TCP_INFO), read with <linux/tcp.h>'s layout:
// glibc's <netinet/tcp.h> predates them and cannot be included beside it.
#include "tcp_counters.h"

#include <linux/tcp.h>
#include <cstddef>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <netinet/in.h>

namespace cairn {

bool tcp_bytes(int fd, uint64_t &written, uint64_t &received) {
  tcp_info ti{};
  socklen_t l = sizeof ti;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0 || l < offsetof(tcp_info, tcpi_bytes_retrans) + sizeof ti.tcpi_bytes_retrans)
    return false;
  int unsent = 0;
  if (ioctl(fd, SIOCOUTQNSD, &unsent) < 0) return false;
  // Sent once (data octets out, less those sent again) plus not sent yet: every byte the
  // program ever wrote to it. (bytes_acked would do, but it counts the SYN of the end
  // that connected, and nothing tells that end from the one that accepted.)
  written = ti.tcpi_bytes_sent - ti.tcpi_bytes_retrans + uint64_t(unsent);
  received = ti.tcpi_bytes_received;
  return true;
}

}  // namespace cairn
