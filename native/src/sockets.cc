// Sockets of a job (see sockets.h). The agent reads a socket through its own handle on it
// (pidfd_getfd: the job is frozen and traced by the agent) and learns what /proc does not
// show (UNIX peer, queue lengths, shutdown, listen backlog) from sock_diag, which works
// unprivileged in the host's network namespace the job shares.
#include "sockets.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "crc32c.h"
#include "tcp_counters.h"
#include "process.h"

namespace cairn {

namespace {

constexpr int kTcpEstablished = 1, kTcpListen = 10;   // sk_state values sock_diag reports

// TCP connections with both ends in the job, drained and refilled by check_job_sockets (JS
// thread, job frozen) before the per-process dumps (engine thread) save them: inode -> the
// peer's inode and the bytes in flight towards this end (its receive queue + the peer's
// send queue), oldest first.
struct TcpDrained {
  uint64_t peer_ino = 0;
  std::vector<uint8_t> bytes;
  bool taken = false;   // written into one holder's image
};
std::mutex g_tcp_mu;
std::map<uint64_t, TcpDrained> g_tcp;
// Drained bytes that did not all fit back at once, by the host pid holding the sending end:
// that process stays frozen until the agent has sent them (pump_refills), so nothing it
// writes can overtake them.
std::map<pid_t, std::vector<Refill>> g_refills;
// UNIX stream/seqpacket sockets connected to a peer outside the job (found at FD_LEADER):
// inode -> the peer, for the note. They come back with their peer closed.
std::map<uint64_t, std::string> g_unix_outside;
// UNIX clients of the job waiting in the backlog of one of the job's listeners (found at
// FD_LEADER): client inode -> listener inode. They are made again, connected in order.
std::map<uint64_t, uint64_t> g_unix_pending;
// TCP clients of the job waiting, not accepted yet, in the backlog of one of the job's
// listeners (found at FD_LEADER): listener inode -> its clients' inodes. Made again at
// restart, each connected to the listener in turn, from its own address.
std::map<uint64_t, std::vector<uint64_t>> g_tcp_backlog;
std::map<uint64_t, uint64_t> g_tcp_waiting;   // client inode -> listener inode
// UNIX datagram sockets connected to a socket of the job that is not connected back (many
// clients, one server): inode -> the server's inode. Connected again by its name.
std::map<uint64_t, uint64_t> g_unix_dgram_to;
// TCP connections of the job whose other end is not on this host (found at FD_LEADER): the
// job's on another host when the coordinator finds their other end there, else outside.
struct RemoteCandidate {
  uint64_t ino = 0;
  pid_t pid = 0;
  int fd = -1;
  std::vector<uint8_t> name, peer;
  uint64_t written = 0;
};
std::vector<RemoteCandidate> g_remote_candidates;
// Those the coordinator matched, drained and echoed at DRAINED: inode -> connection id.
std::map<uint64_t, std::string> g_remote;
// Restart: connections between hosts made again by the agent (rendezvous through the
// coordinator), by saved inode: the descriptor and what did not fit back yet.
std::map<uint64_t, std::pair<int, std::vector<uint8_t>>> g_premade;
// Drained at DRAINED, echoed at CHECKPOINTED (or ABORTED): both ends' agents must have
// finished draining before either echoes, or one would read the other's echo as data.
struct RemotePending {
  RemoteCandidate c;
  int h = -1;
  std::vector<uint8_t> got;
  std::string what;
};
std::vector<RemotePending> g_remote_pending;

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
};

std::string sock_what(int fd, uint64_t ino) { return "fd " + std::to_string(fd) + " is socket:[" + std::to_string(ino) + "]"; }

const char *type_name(uint32_t t) {
  return t == SOCK_STREAM ? "stream" : t == SOCK_DGRAM ? "datagram" : t == SOCK_SEQPACKET ? "seqpacket" : "raw";
}

// A sockaddr for people: "/path", "@abstract", "127.0.0.1:80", "[::1]:80".
std::string addr_str(const std::vector<uint8_t> &a) {
  if (a.size() < sizeof(sa_family_t)) return "(unnamed)";
  sa_family_t fam;
  memcpy(&fam, a.data(), sizeof fam);
  if (fam == AF_UNIX) {
    std::string p(reinterpret_cast<const char *>(a.data()) + sizeof fam, a.size() - sizeof fam);
    if (p.empty()) return "(unnamed)";
    if (p[0] == '\0') {
      p[0] = '@';
      for (char &c : p) if (c == '\0') c = '@';
      return p;
    }
    return p.substr(0, p.find('\0'));
  }
  char host[INET6_ADDRSTRLEN] = "?";
  if (fam == AF_INET && a.size() >= sizeof(sockaddr_in)) {
    sockaddr_in s;
    memcpy(&s, a.data(), sizeof s);
    inet_ntop(AF_INET, &s.sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(s.sin_port));
  }
  if (fam == AF_INET6 && a.size() >= sizeof(sockaddr_in6)) {
    sockaddr_in6 s;
    memcpy(&s, a.data(), sizeof s);
    inet_ntop(AF_INET6, &s.sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(s.sin6_port));
  }
  return "(family " + std::to_string(fam) + ")";
}

uint16_t port_of(const std::vector<uint8_t> &a) {
  sa_family_t fam = 0;
  if (a.size() >= sizeof fam) memcpy(&fam, a.data(), sizeof fam);
  if (fam == AF_INET && a.size() >= sizeof(sockaddr_in)) return ntohs(reinterpret_cast<const sockaddr_in *>(a.data())->sin_port);
  if (fam == AF_INET6 && a.size() >= sizeof(sockaddr_in6)) return ntohs(reinterpret_cast<const sockaddr_in6 *>(a.data())->sin6_port);
  return 0;
}

// True when an IP address (port ignored) belongs to this host: binding to it works.
static bool address_is_local(const std::vector<uint8_t> &a) {
  sa_family_t fam = 0;
  if (a.size() >= sizeof fam) memcpy(&fam, a.data(), sizeof fam);
  if ((fam != AF_INET && fam != AF_INET6) || a.size() > sizeof(sockaddr_storage)) return false;
  sockaddr_storage ss{};
  memcpy(&ss, a.data(), a.size());
  if (fam == AF_INET) reinterpret_cast<sockaddr_in *>(&ss)->sin_port = 0;
  else reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port = 0;
  int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool local = bind(fd, reinterpret_cast<sockaddr *>(&ss), static_cast<socklen_t>(a.size())) == 0;
  close(fd);
  return local;
}

// A UNIX path name (not abstract, not unnamed): its sun_path, else "".
std::string unix_path(const std::vector<uint8_t> &a) {
  if (a.size() <= sizeof(sa_family_t) || a[sizeof(sa_family_t)] == 0) return std::string();
  std::string p(reinterpret_cast<const char *>(a.data()) + sizeof(sa_family_t), a.size() - sizeof(sa_family_t));
  return p.substr(0, p.find('\0'));
}

// One sock_diag request; every answer goes to cb. Returns 0 or the errno the kernel gave.
int diag(const void *req, size_t len, bool dump, const std::function<void(const nlmsghdr *)> &cb) {
  Fd nl(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (nl.fd < 0) return errno;
  if (send(nl.fd, req, len, 0) != ssize_t(len)) return errno;
  std::vector<char> buf(64 << 10);
  for (;;) {
    ssize_t n = recv(nl.fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    int left = int(n);
    for (const nlmsghdr *h = reinterpret_cast<const nlmsghdr *>(buf.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const nlmsgerr *e = static_cast<const nlmsgerr *>(NLMSG_DATA(h));
        return e->error ? -e->error : 0;
      }
      cb(h);
      if (!dump) return 0;
    }
  }
}

struct UnixDiag {
  bool found = false;
  uint32_t type = 0, state = 0, peer = 0, rqueue = 0, wqueue = 0, shutdown = 0, vfs_ino = 0;
  std::vector<uint8_t> name;   // as a sockaddr_un (family + sun_path bytes)
  std::vector<uint32_t> icons;   // a listener: its clients waiting to be accepted, oldest first (0: closed)
};

UnixDiag unix_diag(uint64_t ino) {
  struct {
    nlmsghdr nlh;
    unix_diag_req r;
  } req;
  memset(&req, 0, sizeof req);
  req.nlh.nlmsg_len = sizeof req;
  req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.nlh.nlmsg_flags = NLM_F_REQUEST;
  req.r.sdiag_family = AF_UNIX;
  req.r.udiag_states = ~0u;
  req.r.udiag_ino = uint32_t(ino);
  req.r.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_ICONS;   // UNIX_DIAG_SHUTDOWN always comes
  req.r.udiag_cookie[0] = req.r.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
  UnixDiag d;
  int e = diag(&req, sizeof req, false, [&](const nlmsghdr *h) {
    const unix_diag_msg *m = static_cast<const unix_diag_msg *>(NLMSG_DATA(h));
    if (m->udiag_ino != ino) return;
    d.found = true;
    d.type = m->udiag_type;
    d.state = m->udiag_state;
    int alen = int(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
    for (const rtattr *a = reinterpret_cast<const rtattr *>(m + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
      const uint8_t *p = static_cast<const uint8_t *>(RTA_DATA(a));
      size_t n = RTA_PAYLOAD(a);
      switch (a->rta_type) {
        case UNIX_DIAG_NAME: {
          sa_family_t fam = AF_UNIX;
          d.name.assign(reinterpret_cast<const uint8_t *>(&fam), reinterpret_cast<const uint8_t *>(&fam) + sizeof fam);
          d.name.insert(d.name.end(), p, p + n);
          break;
        }
        case UNIX_DIAG_VFS:
          if (n >= sizeof(unix_diag_vfs)) d.vfs_ino = reinterpret_cast<const unix_diag_vfs *>(p)->udiag_vfs_ino;
          break;
        case UNIX_DIAG_PEER:
          if (n >= 4) memcpy(&d.peer, p, 4);
          break;
        case UNIX_DIAG_RQLEN:
          if (n >= sizeof(unix_diag_rqlen)) {
            d.rqueue = reinterpret_cast<const unix_diag_rqlen *>(p)->udiag_rqueue;
            d.wqueue = reinterpret_cast<const unix_diag_rqlen *>(p)->udiag_wqueue;
          }
          break;
        case UNIX_DIAG_SHUTDOWN:
          if (n >= 1) d.shutdown = p[0];
          break;
        case UNIX_DIAG_ICONS:
          d.icons.resize(n / 4);
          memcpy(d.icons.data(), p, d.icons.size() * 4);
          break;
      }
    }
  });
  if (e && e != ENOENT) throw std::runtime_error("sock_diag of socket:[" + std::to_string(ino) + "]: " + errno_str(e));
  return d;
}

// A TCP listener's backlog and connections waiting in it (inet_diag, by inode).
bool tcp_listen_diag(int family, uint64_t ino, uint32_t &backlog, uint32_t &pending) {
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 r;
  } req;
  memset(&req, 0, sizeof req);
  req.nlh.nlmsg_len = sizeof req;
  req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.r.sdiag_family = uint8_t(family);
  req.r.sdiag_protocol = IPPROTO_TCP;
  req.r.idiag_states = 1u << kTcpListen;
  bool found = false;
  int e = diag(&req, sizeof req, true, [&](const nlmsghdr *h) {
    const inet_diag_msg *m = static_cast<const inet_diag_msg *>(NLMSG_DATA(h));
    if (m->idiag_inode != ino) return;
    found = true;
    pending = m->idiag_rqueue;
    backlog = m->idiag_wqueue;
  });
  return !e && found;
}

int int_opt(int fd, int level, int name, bool *ok = nullptr) {
  int v = 0;
  socklen_t l = sizeof v;
  bool r = getsockopt(fd, level, name, &v, &l) == 0;
  if (ok) *ok = r;
  return r ? v : 0;
}

// Options kept when they differ from a fresh socket's. SO_RCVBUF/SO_SNDBUF read back
// doubled: setsockopt wants the half.
struct OptDef {
  int level, name;
  bool buf;
};
const OptDef kOpts[] = {
    {SOL_SOCKET, SO_REUSEADDR, false}, {SOL_SOCKET, SO_REUSEPORT, false}, {SOL_SOCKET, SO_KEEPALIVE, false},
    {SOL_SOCKET, SO_BROADCAST, false}, {SOL_SOCKET, SO_PASSCRED, false},  {SOL_SOCKET, SO_OOBINLINE, false},
    {SOL_SOCKET, SO_RCVLOWAT, false},  {SOL_SOCKET, SO_SNDBUF, true},     {SOL_SOCKET, SO_RCVBUF, true},
    {IPPROTO_IPV6, IPV6_V6ONLY, false}, {IPPROTO_TCP, TCP_NODELAY, false},
};

void read_opts(int h, SocketImage &s) {
  Fd fresh(socket(int(s.family), int(s.type) | SOCK_CLOEXEC, int(s.protocol)));
  for (const OptDef &o : kOpts) {
    if (o.level == IPPROTO_IPV6 && s.family != AF_INET6) continue;
    if (o.level == IPPROTO_TCP && s.protocol != IPPROTO_TCP) continue;
    bool ok1, ok2 = false;
    int v = int_opt(h, o.level, o.name, &ok1);
    int d = fresh.fd >= 0 ? int_opt(fresh.fd, o.level, o.name, &ok2) : 0;
    if (!ok1 || (ok2 && v == d)) continue;
    s.opts.push_back(SockOpt{o.level, o.name, o.buf ? v / 2 : v});
  }
}

std::vector<uint8_t> sockname(int h, bool peer) {
  sockaddr_storage a;
  socklen_t l = sizeof a;
  if ((peer ? getpeername(h, reinterpret_cast<sockaddr *>(&a), &l) : getsockname(h, reinterpret_cast<sockaddr *>(&a), &l)) < 0)
    return {};
  const uint8_t *p = reinterpret_cast<const uint8_t *>(&a);
  return std::vector<uint8_t>(p, p + std::min<size_t>(l, sizeof a));
}

void classify_unix(pid_t pid, const ProcessImage &img, const std::string &what, SocketImage &s) {
  UnixDiag d = unix_diag(s.ino);
  if (!d.found) fail_pid(pid, what + ": a UNIX socket sock_diag does not know (another network namespace?)");
  if (s.type != SOCK_STREAM && s.type != SOCK_DGRAM && s.type != SOCK_SEQPACKET)
    fail_pid(pid, what + ": UNIX sockets of type " + std::to_string(s.type) + " are not supported");
  if (d.state == kTcpListen) {
    s.state = SOCKET_LISTEN;
    s.backlog = d.wqueue;
    s.pending = d.rqueue;
    // Its backlog, in order: the job's clients by inode; anyone else's (outside the job, or
    // closed already) as 0, made again as a connection whose client is closed.
    std::lock_guard<std::mutex> g(g_tcp_mu);
    for (uint32_t c : d.icons) {
      auto it = g_unix_pending.find(c);
      s.pending_clients.push_back(it != g_unix_pending.end() && it->second == s.ino ? c : 0);
    }
  } else if (d.peer || (d.state == kTcpEstablished && (s.type != SOCK_DGRAM || !s.peer_name.empty()))) {
    // A peer gone (closed) shows as no peer; a stream end then has both directions shut
    // down. One with no peer and no shutdown waits in a listener's backlog. (A datagram
    // socket others connected to shows as established too, with no peer name of its own.)
    std::lock_guard<std::mutex> g(g_tcp_mu);
    auto server = g_unix_dgram_to.find(s.ino);
    if (server != g_unix_dgram_to.end()) {
      // A job server's datagram client: made by the agent after the server, connected to
      // its name (peer_name; relative to the server's directory).
      s.state = SOCKET_BOUND;
      s.peer_ino = server->second;
      s.shutdown = d.shutdown;
    } else {
      s.state = SOCKET_PAIR;
      s.peer_ino = d.peer;
      s.shutdown = d.shutdown;
    }
    if (s.type != SOCK_DGRAM && !d.peer && d.shutdown != 3) {
      auto l = g_unix_pending.find(s.ino);
      if (l != g_unix_pending.end()) {
        s.listener_ino = l->second;   // made again and connected to it, in its turn
      } else {
        // Waiting for a listener outside the job: comes back closed, as any connection out.
        s.outside = true;
        s.notes_peer = addr_str(s.peer_name) + " (a listener outside the job, not accepted yet)";
      }
      return;
    }
    auto out = g_unix_outside.find(s.ino);
    if (out != g_unix_outside.end()) {
      // What the peer had sent is kept (and read first); then the program sees EOF.
      s.outside = true;
      s.peer_ino = 0;
      s.notes_peer = out->second;
    }
  } else {
    s.state = s.name.size() > sizeof(sa_family_t) ? SOCKET_BOUND : SOCKET_UNBOUND;
    s.shutdown = d.shutdown;
  }
  const std::string path = unix_path(s.name);
  if ((s.state == SOCKET_LISTEN || s.state == SOCKET_BOUND) && !path.empty()) {
    // The socket file, to tell at restart a stale file of this socket from someone else's.
    const std::string full = path[0] == '/' ? path : img.cwd + "/" + path;
    struct stat st;
    if (stat(("/proc/" + std::to_string(pid) + "/root" + full).c_str(), &st) < 0 || !S_ISSOCK(st.st_mode) ||
        uint64_t(st.st_ino) != d.vfs_ino)
      fail_pid(pid, what + ": bound to " + path + ", whose socket file is gone or replaced" +
                        (path[0] == '/' ? std::string() : " (or the process changed directory since)") + ": not supported");
    s.file.dev = uint64_t(st.st_dev);
    s.file.ino = uint64_t(st.st_ino);
    s.mode = st.st_mode & 07777;
  }
}

void classify_inet(pid_t pid, const std::string &what, SocketImage &s, int h) {
  const std::string fam = s.family == AF_INET ? "IPv4" : "IPv6";
  if (s.type == SOCK_STREAM && s.protocol == IPPROTO_TCP) {
    if (int_opt(h, SOL_SOCKET, SO_ACCEPTCONN)) {
      s.state = SOCKET_LISTEN;
      if (!tcp_listen_diag(int(s.family), s.ino, s.backlog, s.pending))
        fail_pid(pid, what + ": a TCP listener on " + addr_str(s.name) + " sock_diag does not know");
      std::lock_guard<std::mutex> g(g_tcp_mu);
      auto b = g_tcp_backlog.find(s.ino);
      if (b != g_tcp_backlog.end()) s.pending_clients = b->second;
    } else if (!s.peer_name.empty()) {
      // Only a connection whose other end is in the job (drained at FD_LEADER) is kept.
      std::lock_guard<std::mutex> g(g_tcp_mu);
      auto w = g_tcp_waiting.find(s.ino);
      if (w != g_tcp_waiting.end()) {   // waiting in the backlog of a listener of the job
        s.state = SOCKET_PAIR;
        s.listener_ino = w->second;
        return;
      }
      auto it = g_tcp.find(s.ino);
      s.state = SOCKET_PAIR;
      if (it != g_tcp.end()) {
        s.peer_ino = it->second.peer_ino;
        auto r = g_remote.find(s.ino);
        if (r != g_remote.end()) {
          // Its other end is the job's on another host: made again through the coordinator.
          s.remote_conn = r->second;
          s.remote_listen = r->second.rfind(addr_str(s.name) + "|", 0) == 0;
        }
      } else {
        // Its peer is outside the job (another host, a server): it cannot be made again
        // without the peer, so it comes back closed (peer_ino 0: reset at restart).
        s.peer_ino = 0;
        s.outside = true;
      }
    } else {
      s.state = port_of(s.name) ? SOCKET_BOUND : SOCKET_UNBOUND;
    }
  } else if (s.type == SOCK_DGRAM && s.protocol == IPPROTO_UDP) {
    s.state = port_of(s.name) || !s.peer_name.empty() ? SOCKET_BOUND : SOCKET_UNBOUND;
  } else {
    fail_pid(pid, what + ": an " + fam + " " + type_name(s.type) + " socket of protocol " + std::to_string(s.protocol) +
                      " is not supported");
  }
}

// "" or what went wrong.
std::string put_bytes(int image_fd, uint64_t off, const uint8_t *p, size_t n) {
  for (size_t done = 0; done < n;) {
    ssize_t w = pwrite(image_fd, p + done, n - done, off_t(off + done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return "cannot write its queued data to the image: " + errno_str(w < 0 ? errno : EIO);
    done += size_t(w);
  }
  return std::string();
}

// setsockopt of every saved option, in order.
void apply_opts(int fd, const SocketImage &s, const std::string &at) {
  for (const SockOpt &o : s.opts)
    if (setsockopt(fd, o.level, o.name, &o.value, sizeof o.value) < 0)
      throw std::runtime_error(at + ": setsockopt(" + std::to_string(o.level) + ", " + std::to_string(o.name) + "): " +
                               errno_str(errno));
}

std::vector<uint8_t> read_runs(const std::string &image, const std::vector<PageRun> &runs, const std::string &at) {
  std::vector<uint8_t> out;
  if (runs.empty()) return out;
  Fd fd(open(image.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) throw std::runtime_error(at + ": cannot open image " + image + ": " + errno_str(errno));
  for (const PageRun &r : runs) {
    size_t base = out.size();
    out.resize(base + r.len);
    for (uint64_t done = 0; done < r.len;) {
      ssize_t n = pread(fd.fd, out.data() + base + done, r.len - done, off_t(r.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error(at + ": image " + image + " is cut short");
      done += uint64_t(n);
    }
  }
  return out;
}

// What was queued for `s` sent again through `from`: one send per message for datagram and
// seqpacket sockets, the stream's bytes in as few sends as it takes.
void refill(int from, const SocketImage &s, const std::string &image, const std::string &at) {
  std::vector<uint8_t> bytes = read_runs(image, s.runs, at);
  size_t pos = 0;
  for (const PageRun &r : s.runs) {
    for (size_t done = 0; done < r.len || (r.len == 0 && done == 0);) {
      ssize_t n = send(from, bytes.data() + pos + done, r.len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error(at + ": refilling its queued data: " + errno_str(errno));
      if (s.type != SOCK_STREAM && size_t(n) != r.len) throw std::runtime_error(at + ": a queued message was cut");
      done += size_t(n);
      if (r.len == 0) break;
    }
    pos += r.len;
  }
}

void finish_socket(int fd, const SocketImage &s, const std::string &at) {
  if (s.peek_off >= 0 && setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &s.peek_off, sizeof s.peek_off) < 0)
    throw std::runtime_error(at + ": SO_PEEK_OFF: " + errno_str(errno));
  if (s.shutdown & 3) shutdown(fd, int(s.shutdown & 3) - 1);   // RCV 1 -> SHUT_RD 0, SEND 2 -> SHUT_WR 1, both -> SHUT_RDWR
}

uint64_t now_ms() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return uint64_t(t.tv_sec) * 1000 + uint64_t(t.tv_nsec) / 1000000;
}

// The agent's own handle on a job process's descriptor, or -1 (errno set).
int handle_on(pid_t pid, int fd) {
  int pidfd = int(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return -1;
  int h = int(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  int e = errno;
  close(pidfd);
  errno = e;
  return h;
}

int tcp_state(int h) {
  tcp_info ti;
  memset(&ti, 0, sizeof ti);
  socklen_t l = sizeof ti;
  return getsockopt(h, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0 ? -1 : int(ti.tcpi_state);
}

struct TcpCounts {
  int inq = -1, outq = -1, unsent = -1;
  bool landed = false;   // every byte snd sent is acknowledged: in rcv's queue or read from it
};

TcpCounts tcp_counts(int rcv, int snd) {
  TcpCounts c;
  ioctl(rcv, SIOCINQ, &c.inq);
  ioctl(snd, SIOCOUTQ, &c.outq);
  ioctl(snd, SIOCOUTQNSD, &c.unsent);
  // Everything sent is acknowledged, so it is in rcv's queue (or was read from it). The
  // receiver's kernel acknowledges while the job is frozen, within a delayed-ACK time.
  c.landed = c.outq >= 0 && c.outq == c.unsent;
  return c;
}

// Everything on its way from `snd` to `rcv`, oldest first. When snd has sent all it holds
// and it has arrived, rcv's queue is all of it: peeked, nothing taken (drained = false).
// Otherwise (a writer blocked on a full buffer: bytes not sent yet, waiting for room) it is
// read out through rcv until both queues are empty (drained = true): the caller must put it
// back. "" or what failed.
std::string tcp_save_direction(int rcv, int snd, std::vector<uint8_t> &out, bool &drained) {
  drained = false;
  uint64_t t0 = now_ms();
  TcpCounts c;
  for (;;) {
    c = tcp_counts(rcv, snd);
    if (c.unsent > 0) break;
    if (c.unsent == 0 && c.landed) {
      if (c.inq <= 0) return std::string();
      // MSG_PEEK starts at SO_PEEK_OFF when the program enabled it, and moves it: from 0,
      // then the program's offset back.
      int po = -1;
      socklen_t pl = sizeof po;
      getsockopt(rcv, SOL_SOCKET, SO_PEEK_OFF, &po, &pl);
      const int zero = 0;
      if (po >= 0) setsockopt(rcv, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof zero);
      out.resize(size_t(c.inq));
      ssize_t n = recv(rcv, out.data(), out.size(), MSG_PEEK | MSG_DONTWAIT);
      const int e = errno;
      if (po >= 0) setsockopt(rcv, SOL_SOCKET, SO_PEEK_OFF, &po, sizeof po);
      if (n != c.inq) {
        out.clear();
        return "peeking its " + std::to_string(c.inq) + " queued bytes: " + (n < 0 ? errno_str(e) : "got " + std::to_string(n));
      }
      return std::string();
    }
    if (now_ms() - t0 > 3000)
      return "its bytes in flight did not arrive within 3 s (receive " + std::to_string(c.inq) + ", send " +
             std::to_string(c.outq) + ")";
    pollfd p{rcv, POLLIN, 0};
    poll(&p, 1, 2);
  }
  drained = true;
  std::vector<uint8_t> buf(256u << 10);
  t0 = now_ms();
  for (;;) {
    ssize_t n = recv(rcv, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n > 0) {
      out.insert(out.end(), buf.data(), buf.data() + n);
      t0 = now_ms();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return "draining its data: " + errno_str(errno);
    c = tcp_counts(rcv, snd);
    if (c.inq == 0 && c.unsent == 0 && c.landed) return std::string();
    if (now_ms() - t0 > 3000)
      return "its queues did not empty within 3 s (receive " + std::to_string(c.inq) + ", send " + std::to_string(c.outq) + ")";
    pollfd p{rcv, POLLIN, 0};
    poll(&p, 1, 2);
  }
}

}  // namespace

void dump_sockets(pid_t pid, ProcessImage &img) {
  std::map<uint64_t, uint32_t> index;   // ino -> index + 1
  int pidfd = -1;
  for (FdImage &f : img.fds) {
    if (f.kind != FD_SOCKET) continue;
    auto it = index.find(f.file.ino);
    if (it != index.end()) {
      f.socket = it->second;
      continue;
    }
    const std::string what = sock_what(f.fd, f.file.ino);
    if (pidfd < 0 && (pidfd = int(syscall(SYS_pidfd_open, pid, 0))) < 0) fail_pid(pid, "pidfd_open: " + errno_str(errno));
    Fd h(int(syscall(SYS_pidfd_getfd, pidfd, f.fd, 0)));
    if (h.fd < 0) {
      int e = errno;
      close(pidfd);
      fail_pid(pid, what + ": cannot get a handle on it (pidfd_getfd): " + errno_str(e));
    }
    SocketImage s;
    s.ino = f.file.ino;
    s.family = uint32_t(int_opt(h.fd, SOL_SOCKET, SO_DOMAIN));
    s.type = uint32_t(int_opt(h.fd, SOL_SOCKET, SO_TYPE));
    s.protocol = uint32_t(int_opt(h.fd, SOL_SOCKET, SO_PROTOCOL));
    s.name = sockname(h.fd, false);
    s.peer_name = sockname(h.fd, true);
    bool ok;
    s.peek_off = int_opt(h.fd, SOL_SOCKET, SO_PEEK_OFF, &ok);
    if (!ok) s.peek_off = -1;
    try {
      if (s.family == AF_UNIX) classify_unix(pid, img, what, s);
      else if (s.family == AF_INET || s.family == AF_INET6) classify_inet(pid, what, s, h.fd);
      else
        fail_pid(pid, what + ": " +
                          (s.family == AF_NETLINK  ? std::string("a netlink")
                           : s.family == AF_PACKET ? std::string("a packet")
                                                   : "a family " + std::to_string(s.family)) +
                          " socket is not supported");
      if (s.outside && s.family == AF_UNIX)
        img.notes.push_back(who(pid) + ": " + what + ": the UNIX " + type_name(s.type) + " connection to " + s.notes_peer +
                            " leaves the job: after a restart its peer is closed" +
                            (s.type == SOCK_DGRAM ? " (its queued datagrams are read first; sends fail with ECONNREFUSED)"
                                                  : " (reads see EOF once its queued bytes are read)"));
      else if (s.outside)
        img.notes.push_back(who(pid) + ": " + what + ": the TCP connection " + addr_str(s.name) + " -> " + addr_str(s.peer_name) +
                            " leaves the job: after a restart it is closed (reads and writes fail with ECONNRESET)");
      read_opts(h.fd, s);
      // A TCP connection of the job, if the job is then killed, leaves a TIME_WAIT that keeps
      // its port from the restart's bind for a minute, unless the socket had SO_REUSEADDR.
      // It is set now (the image keeps the program's value); a bound socket changes in
      // nothing else, and a restored connection has it set anyway.
      if (s.family != AF_UNIX && s.type == SOCK_STREAM && s.state == SOCKET_PAIR && !s.outside) {
        const int one = 1;
        setsockopt(h.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      }
    } catch (...) {
      close(pidfd);
      throw;
    }
    img.sockets.push_back(std::move(s));
    index[f.file.ino] = f.socket = uint32_t(img.sockets.size());
  }
  if (pidfd >= 0) close(pidfd);
}

uint64_t dump_socket_queues(pid_t pid, int image_fd, uint64_t off, ProcessImage &img) {
  int pidfd = -1;
  std::vector<uint8_t> buf;
  for (uint32_t k = 0; k < img.sockets.size(); k++) {
    SocketImage &s = img.sockets[k];
    // A bound UNIX datagram socket's queue is kept too (refilled by the agent from an
    // unnamed socket), and a UDP one's with each datagram's sender (refilled from there).
    const bool dgram_server = s.family == AF_UNIX && s.type == SOCK_DGRAM && s.state == SOCKET_BOUND;
    const bool udp = s.family != AF_UNIX && s.type == SOCK_DGRAM && s.state == SOCKET_BOUND;
    if (s.state != SOCKET_PAIR && !dgram_server && !udp) continue;
    int fdnum = -1;
    for (const FdImage &f : img.fds)
      if (f.kind == FD_SOCKET && f.socket == k + 1) {
        fdnum = f.fd;
        break;
      }
    const std::string what = sock_what(fdnum, s.ino);
    if (s.family != AF_UNIX && !udp) {
      // A TCP connection in the job: its bytes were drained (and put back) at FD_LEADER.
      std::vector<uint8_t> bytes;
      {
        std::lock_guard<std::mutex> g(g_tcp_mu);
        auto it = g_tcp.find(s.ino);
        if (it == g_tcp.end() && s.outside) continue;   // comes back closed: nothing to keep
        if (it == g_tcp.end() && s.listener_ino) continue;   // waiting in a backlog: sent nothing
        if (it == g_tcp.end()) {
          if (pidfd >= 0) close(pidfd);
          fail_pid(pid, what + ": a TCP connection " + addr_str(s.name) + " -> " + addr_str(s.peer_name) + " whose data was not drained");
        }
        // A socket several processes hold (fork, SCM_RIGHTS) is saved in each of their
        // images, its bytes in one only (the restore takes the image that has them).
        if (!it->second.taken) bytes = std::move(it->second.bytes);
        it->second.taken = true;
      }
      std::string err = put_bytes(image_fd, off, bytes.data(), bytes.size());
      if (!err.empty()) {
        if (pidfd >= 0) close(pidfd);
        fail_pid(pid, what + ": " + err);
      }
      if (!bytes.empty()) s.runs.push_back(PageRun{0, uint64_t(bytes.size()), off, crc32c(0, bytes.data(), bytes.size())});
      off += bytes.size();
      s.bytes = bytes.size();
      continue;
    }
    if (pidfd < 0 && (pidfd = int(syscall(SYS_pidfd_open, pid, 0))) < 0) fail_pid(pid, "pidfd_open: " + errno_str(errno));
    Fd h(int(syscall(SYS_pidfd_getfd, pidfd, fdnum, 0)));
    if (h.fd < 0) {
      int e = errno;
      close(pidfd);
      fail_pid(pid, what + ": cannot get a handle on it (pidfd_getfd): " + errno_str(e));
    }
    // Peek from offset 0 on, then put the job's own peek offset back (it is the socket's,
    // not the descriptor's): nothing is consumed, nothing changed.
    const int zero = 0;
    if (setsockopt(h.fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof zero) < 0) {
      int e = errno;
      close(pidfd);
      fail_pid(pid, what + ": SO_PEEK_OFF: " + errno_str(e));
    }
    const bool stream = s.type == SOCK_STREAM;
    int inq = 0;
    ioctl(h.fd, SIOCINQ, &inq);   // stream and seqpacket: every byte queued
    std::string refusal;
    buf.resize(stream ? (256u << 10) : (4u << 20));
    alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * 253) + CMSG_SPACE(sizeof(ucred))];
    uint64_t total = 0;
    for (uint32_t rounds = 0;; rounds++) {
      iovec iov{buf.data(), buf.size()};
      msghdr m;
      memset(&m, 0, sizeof m);
      m.msg_iov = &iov;
      m.msg_iovlen = 1;
      m.msg_control = cbuf;
      m.msg_controllen = sizeof cbuf;
      sockaddr_storage from;
      m.msg_name = &from;
      m.msg_namelen = sizeof from;
      ssize_t n = recvmsg(h.fd, &m, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC | (stream ? 0 : MSG_TRUNC));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n < 0) {
        refusal = "reading its queued data: " + errno_str(errno);
        break;
      }
      for (cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
          size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
          for (size_t i = 0; i < nfd; i++) {
            int x;
            memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof x);
            close(x);
          }
          refusal = "a queued message carries descriptors (SCM_RIGHTS): not supported";
        }
      if (refusal.empty() && (m.msg_flags & MSG_CTRUNC)) refusal = "a queued message carries too much control data: not supported";
      if (refusal.empty() && !stream && size_t(n) > buf.size()) refusal = "a queued message of " + std::to_string(n) + " bytes: too large";
      if (refusal.empty() && rounds > (1u << 20)) refusal = "more than a million queued messages";
      if (!refusal.empty()) break;
      // Stream: 0 is the end (the peer is gone or shut down). Seqpacket: the end of a shut
      // down socket reads as 0 too, told from an empty message by the byte count.
      if (n == 0 && (stream || (s.type == SOCK_SEQPACKET && (s.shutdown & 1) && total == uint64_t(inq)))) break;
      if (!(refusal = put_bytes(image_fd, off, buf.data(), size_t(n))).empty()) break;
      if (udp || dgram_server) {
        const uint8_t *fp = reinterpret_cast<const uint8_t *>(&from);
        s.senders.emplace_back(fp, fp + std::min<size_t>(m.msg_namelen, sizeof from));
      }
      const uint32_t crc = crc32c(0, buf.data(), size_t(n));
      if (stream && !s.runs.empty() && s.runs.back().offset + s.runs.back().len == off) {
        s.runs.back().len += uint64_t(n);
        s.runs.back().crc32c = crc32c(s.runs.back().crc32c, buf.data(), size_t(n));
      } else {
        s.runs.push_back(PageRun{total, uint64_t(n), off, crc});
      }
      off += uint64_t(n);
      total += uint64_t(n);
    }
    setsockopt(h.fd, SOL_SOCKET, SO_PEEK_OFF, &s.peek_off, sizeof s.peek_off);
    if (refusal.empty() && s.type != SOCK_DGRAM && total != uint64_t(inq))
      refusal = "read " + std::to_string(total) + " of its " + std::to_string(inq) + " queued bytes";
    if (!refusal.empty()) {
      close(pidfd);
      fail_pid(pid, what + ": " + refusal);
    }
    s.bytes = total;
  }
  if (pidfd >= 0) close(pidfd);
  return off;
}

void check_job_sockets(const std::vector<pid_t> &pids, const std::vector<std::pair<uint64_t, uint64_t>> &skip) {
  {
    std::lock_guard<std::mutex> g(g_tcp_mu);
    g_unix_outside.clear();   // this checkpoint's finding only (inode numbers are reused)
    g_unix_pending.clear();
    g_unix_dgram_to.clear();
    g_remote_candidates.clear();
    g_remote.clear();
    g_tcp.clear();
    g_tcp_backlog.clear();
    g_tcp_waiting.clear();
  }
  std::map<uint64_t, std::pair<pid_t, int>> job;   // socket inode -> a (pid, fd) holding it
  for (pid_t pid : pids) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    DIR *d = opendir(dir.c_str());
    if (!d) continue;
    while (dirent *e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      struct stat st;
      if (stat((dir + "/" + e->d_name).c_str(), &st) < 0 || !S_ISSOCK(st.st_mode)) continue;
      if (std::find(skip.begin(), skip.end(), std::make_pair(uint64_t(st.st_dev), uint64_t(st.st_ino))) != skip.end()) continue;
      job.emplace(uint64_t(st.st_ino), std::make_pair(pid, atoi(e->d_name)));
    }
    closedir(d);
  }
  // TCP connections with both ends in the job (the 4-tuple reversed): the bytes in flight
  // either way drained through the agent's handles and sent straight back (the job is frozen,
  // so it finds them as they were), kept for dump_socket_queues. Others: dump_sockets refuses.
  struct Conn {
    uint64_t ino;
    pid_t pid;
    int fd, h;
    std::vector<uint8_t> name, peer;
  };
  std::vector<Conn> conns;
  auto close_all = [&] {
    for (Conn &c : conns) close(c.h);
  };
  std::vector<std::pair<std::vector<uint8_t>, uint64_t>> tcp_listeners;    // their addresses and inodes
  for (const auto &[ino, where] : job) {
    // (a UNIX client whose connection waits in a backlog shows no peer: classify_unix refuses it)
    if (unix_diag(ino).found) continue;
    int h = handle_on(where.first, where.second);
    if (h < 0) continue;   // dump_sockets says why
    if (int_opt(h, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_TCP && int_opt(h, SOL_SOCKET, SO_ACCEPTCONN))
      tcp_listeners.emplace_back(sockname(h, false), ino);
    if (int_opt(h, SOL_SOCKET, SO_PROTOCOL) != IPPROTO_TCP || int_opt(h, SOL_SOCKET, SO_ACCEPTCONN)) {
      close(h);
      continue;
    }
    std::vector<uint8_t> peer = sockname(h, true);
    if (peer.empty()) {
      close(h);
      continue;
    }
    conns.push_back(Conn{ino, where.first, where.second, h, sockname(h, false), std::move(peer)});
  }
  std::map<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>, size_t> by_tuple;
  for (size_t i = 0; i < conns.size(); i++) by_tuple[{conns[i].name, conns[i].peer}] = i;
  {
    std::lock_guard<std::mutex> g(g_tcp_mu);
    for (const Conn &c : conns) g_tcp.erase(c.ino);
  }
  for (size_t i = 0; i < conns.size(); i++) {
    auto it = by_tuple.find({conns[i].peer, conns[i].name});
    if (it == by_tuple.end()) {
      // No end of the job's: outside the job, unless it waits in the backlog of one of the
      // job's listeners (same port; the listener's address, or any).
      const std::vector<uint8_t> &to = conns[i].peer;
      bool waiting = false;
      for (const auto &[l, lino] : tcp_listeners) {
        const bool any = l.size() == to.size() && to.size() >= 8 &&
                         std::all_of(l.begin() + 4, l.begin() + (l[0] == AF_INET6 ? 24 : 8), [](uint8_t b) { return b == 0; });
        // (a listener on every address takes only connections to this host's addresses)
        if (l.size() == to.size() && port_of(l) == port_of(to) && (l == to || (any && address_is_local(to)))) {
          // A client of the job not accepted yet: made again and connected in its turn at
          // restart, unless it has sent bytes (they sit on the listener's embryo socket,
          // which nothing can read before accept()).
          uint64_t written = 0, received = 0;
          int outq = 0;
          const bool counted = tcp_bytes(conns[i].h, written, received);
          ioctl(conns[i].h, SIOCOUTQ, &outq);
          if (!counted || written > 0 || outq > 0) {
            close_all();
            fail_pid(conns[i].pid, sock_what(conns[i].fd, conns[i].ino) + ": a TCP connection to " + addr_str(to) +
                                       ", not accepted yet by the job's listener, has sent " + std::to_string(written) +
                                       " bytes that cannot be read before it is accepted: not supported");
          }
          std::lock_guard<std::mutex> g(g_tcp_mu);
          g_tcp_backlog[lino].push_back(conns[i].ino);
          g_tcp_waiting[conns[i].ino] = lino;
          waiting = true;
          break;
        }
      }
      if (waiting) continue;
      // Perhaps the job's on another host: the coordinator matches it (else it is outside).
      uint64_t written = 0, received = 0;
      if (tcp_state(conns[i].h) == kTcpEstablished && tcp_bytes(conns[i].h, written, received)) {
        std::lock_guard<std::mutex> g(g_tcp_mu);
        g_remote_candidates.push_back(RemoteCandidate{conns[i].ino, conns[i].pid, conns[i].fd, conns[i].name, conns[i].peer, written});
      }
      continue;
    }
    if (it->second < i) continue;   // done
    const Conn &a = conns[i], &b = conns[it->second];
    const std::string what = sock_what(a.fd, a.ino) + ": a TCP connection " + addr_str(a.name) + " -> " + addr_str(a.peer) +
                             " (pid " + std::to_string(b.pid) + " fd " + std::to_string(b.fd) + ")";
    const int sa = tcp_state(a.h), sb = tcp_state(b.h);
    if (sa != kTcpEstablished || sb != kTcpEstablished) {
      close_all();
      fail_pid(a.pid, what + " in TCP states " + std::to_string(sa) + "/" + std::to_string(sb) + " (half closed): not supported");
    }
    TcpDrained ta, tb;   // towards a, towards b
    ta.peer_ino = b.ino;
    tb.peer_ino = a.ino;
    bool da = false, db = false;
    std::string err = tcp_save_direction(a.h, b.h, ta.bytes, da);
    if (err.empty()) err = tcp_save_direction(b.h, a.h, tb.bytes, db);
    // Drained bytes go back at once, through the sending end, as far as they fit; the rest
    // is sent by pump_refills while the sending process is held frozen.
    auto put_back = [&](const Conn &sender, std::vector<uint8_t> &bytes) {
      if (bytes.empty()) return;
      Refill r;
      r.fd = dup(sender.h);
      r.bytes = bytes;
      r.what = sock_what(sender.fd, sender.ino);
      if (r.fd < 0 || refill_some(r, 20)) {
        if (r.fd >= 0) close(r.fd);
        if (r.fd < 0 && err.empty()) err = "dup: " + errno_str(errno);
        return;
      }
      std::lock_guard<std::mutex> g(g_tcp_mu);
      g_refills[sender.pid].push_back(std::move(r));
    };
    if (da) put_back(b, ta.bytes);
    if (db) put_back(a, tb.bytes);
    if (!err.empty()) {
      close_all();
      fail_pid(a.pid, what + ": " + err);
    }
    std::lock_guard<std::mutex> g(g_tcp_mu);
    g_tcp[a.ino] = std::move(ta);
    g_tcp[b.ino] = std::move(tb);
  }
  close_all();
  for (const auto &[ino, where] : job) {
    UnixDiag d = unix_diag(ino);
    if (d.found && d.state == kTcpListen) {
      // Clients of the job waiting in its backlog: made again in order at restart, unless
      // they sent bytes already (those sit in the backlog, where nothing can read them).
      for (uint32_t c : d.icons) {
        if (!c || !job.count(c)) continue;
        const UnixDiag cd = unix_diag(c);
        const auto &cw = job.at(c);
        if (cd.wqueue)
          fail_pid(cw.first, sock_what(cw.second, c) + ": a UNIX " + type_name(cd.type) + " connection to " + addr_str(d.name) +
                                 ", not accepted yet, has sent " + std::to_string(cd.wqueue) +
                                 " bytes (with overhead) the listener cannot be read for: not supported");
        std::lock_guard<std::mutex> g(g_tcp_mu);
        g_unix_pending[c] = ino;
      }
      continue;
    }
    if (!d.found || !d.peer) continue;   // not UNIX, or not connected: dump_sockets decides
    const std::string what = sock_what(where.second, ino) + ": a UNIX " + type_name(d.type) + " socket connected to socket:[" +
                             std::to_string(d.peer) + "]";
    UnixDiag p = unix_diag(d.peer);
    const std::string peer_name = p.name.size() > sizeof(sa_family_t) ? " (" + addr_str(p.name) + ")" : "";
    if (!job.count(d.peer)) {
      // A connection out of the job comes back with its peer closed: stream and seqpacket
      // read EOF after their queued bytes, datagram sends fail (ECONNREFUSED).
      std::lock_guard<std::mutex> g(g_tcp_mu);
      g_unix_outside[ino] = "socket:[" + std::to_string(d.peer) + "]" + peer_name;
      continue;
    }
    if (p.peer != ino && d.type == SOCK_DGRAM && p.name.size() > sizeof(sa_family_t)) {
      // One of a server's clients: connected to it again by its name at restart. What the
      // server sent it (to its own name) would need the server as sender: refused.
      if (d.rqueue)
        fail_pid(where.first, what + peer_name + ", which is not connected back to it, has datagrams queued: not supported");
      std::lock_guard<std::mutex> g(g_tcp_mu);
      g_unix_dgram_to[ino] = d.peer;
      continue;
    }
    if (p.peer != ino) fail_pid(where.first, what + peer_name + ", which is not connected back to it: not supported");
  }
}

void clear_stale_unix_path(const ProcessImage &img, const SocketImage &s, const std::string &at) {
  if (s.family != AF_UNIX || (s.state != SOCKET_LISTEN && s.state != SOCKET_BOUND)) return;
  const std::string path = unix_path(s.name);
  if (path.empty()) return;
  const std::string full = path[0] == '/' ? path : img.cwd + "/" + path;
  struct stat st;
  if (lstat(full.c_str(), &st) < 0) {
    if (errno == ENOENT) return;
    throw std::runtime_error(at + ": cannot inspect its socket file " + full + ": " + errno_str(errno));
  }
  if (!S_ISSOCK(st.st_mode) || uint64_t(st.st_ino) != s.file.ino || uint64_t(st.st_dev) != s.file.dev)
    throw std::runtime_error(at + ": cannot bind " + path + " again: the file there is not the socket file it had");
  // A live socket bound to that name (the checkpointed job still running?) keeps it.
  std::string table;
  if (!read_text("/proc/net/unix", table)) throw std::runtime_error(at + ": cannot read /proc/net/unix: " + errno_str(errno));
  for (size_t p = 0; p < table.size();) {
    size_t e = table.find('\n', p);
    if (e == std::string::npos) e = table.size();
    const std::string line = table.substr(p, e - p);
    p = e + 1;
    size_t sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    const std::string name = line.substr(sp + 1);
    if (name == path || name == full)
      throw std::runtime_error(at + ": cannot bind " + path + " again: a live socket is bound to it");
  }
  if (unlink(full.c_str()) < 0 && errno != ENOENT)
    throw std::runtime_error(at + ": cannot remove the stale socket file " + full + ": " + errno_str(errno));
}

int make_socket(const ProcessImage &img, const SocketImage &s, const std::string &at) {
  int fd = socket(int(s.family), int(s.type) | SOCK_CLOEXEC, int(s.protocol));
  if (fd < 0) throw std::runtime_error(at + ": socket: " + errno_str(errno));
  try {
    apply_opts(fd, s, at);
    // A restored TCP connection (made first) may hold this listener's port: SO_REUSEADDR
    // lets them share it; the saved value is put back after listen.
    int reuse = 0;
    const bool tcp_listen = s.state == SOCKET_LISTEN && s.family != AF_UNIX;
    if (tcp_listen) {
      reuse = int_opt(fd, SOL_SOCKET, SO_REUSEADDR);
      const int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    if (s.state == SOCKET_LISTEN || (s.state == SOCKET_BOUND && s.name.size() > sizeof(sa_family_t))) {
      std::vector<uint8_t> name = s.name;
      const std::string path = s.family == AF_UNIX ? unix_path(s.name) : std::string();
      std::string full = path;
      if (!path.empty() && path[0] != '/') {
        // The agent's cwd is not the job's: the absolute path (getsockname then shows it).
        full = img.cwd + "/" + path;
        sockaddr_un u;
        if (full.size() >= sizeof u.sun_path) throw std::runtime_error(at + ": socket path " + full + " too long");
        name.assign(sizeof(sa_family_t), 0);
        name[0] = AF_UNIX;
        name.insert(name.end(), full.begin(), full.end());
        name.push_back(0);
      }
      if (bind(fd, reinterpret_cast<const sockaddr *>(name.data()), socklen_t(name.size())) < 0)
        throw std::runtime_error(at + ": bind " + addr_str(s.name) + ": " + errno_str(errno));
      if (!full.empty() && s.mode) chmod(full.c_str(), s.mode);
    }
    if (s.state == SOCKET_LISTEN && listen(fd, int(s.backlog)) < 0)
      throw std::runtime_error(at + ": listen " + addr_str(s.name) + ": " + errno_str(errno));
    if (tcp_listen) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
    if (s.state == SOCKET_BOUND && !s.peer_name.empty() &&
        connect(fd, reinterpret_cast<const sockaddr *>(s.peer_name.data()), socklen_t(s.peer_name.size())) < 0)
      throw std::runtime_error(at + ": connect " + addr_str(s.peer_name) + ": " + errno_str(errno));
    finish_socket(fd, s, at);
  } catch (...) {
    close(fd);
    throw;
  }
  return fd;
}

void refill_unix_dgram(int fd, const SocketImage &s, const std::string &image, const std::map<std::vector<uint8_t>, int> &made,
                       const std::string &at) {
  if (s.runs.empty()) return;
  std::vector<uint8_t> to = sockname(fd, false);
  std::vector<uint8_t> bytes = read_runs(image, s.runs, at);
  size_t pos = 0;
  for (size_t k = 0; k < s.runs.size(); k++) {
    const uint8_t *p = bytes.data() + pos;
    const size_t len = size_t(s.runs[k].len);
    pos += len;
    const std::vector<uint8_t> from = k < s.senders.size() ? s.senders[k] : std::vector<uint8_t>();
    const bool named = from.size() > sizeof(sa_family_t);
    auto send_from = [&](int sfd) {
      return sendto(sfd, p, len, MSG_DONTWAIT, reinterpret_cast<const sockaddr *>(to.data()), socklen_t(to.size())) == ssize_t(len);
    };
    // From its sender's name, so recvfrom() names it: the job's socket if the agent made it
    // already, else a temporary socket bound there (the job's own is bound after, by its
    // restorer). A name that cannot be taken (someone outside holds it, a relative path)
    // leaves the datagram unnamed, as from a closed sender.
    if (named) {
      auto m = made.find(from);
      if (m != made.end() && send_from(m->second)) continue;
      const std::string path = unix_path(from);
      if (path.empty() || path[0] == '/') {
        Fd t(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (t.fd >= 0 && bind(t.fd, reinterpret_cast<const sockaddr *>(from.data()), socklen_t(from.size())) == 0) {
          const bool ok = send_from(t.fd);
          if (!path.empty()) unlink(path.c_str());   // the job's own socket binds it again
          if (ok) continue;
        }
      }
    }
    Fd t(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (t.fd < 0 || !send_from(t.fd))
      throw std::runtime_error(at + ": refilling a queued datagram of " + std::to_string(len) + " bytes at " + addr_str(to) + ": " + errno_str(errno));
  }
}

int make_udp_socket(const ProcessImage &img, const SocketImage &s, const std::string &at) {
  int fd = make_socket(img, s, at);
  // The temporary senders of refill_udp may take its address: SO_REUSEADDR on both ends.
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  return fd;
}

void refill_udp(int fd, const SocketImage &s, const std::string &image, const std::string &at) {
  if (s.senders.size() != s.runs.size()) throw std::runtime_error(at + ": its queued datagrams and their senders do not match");
  std::vector<uint8_t> bytes = read_runs(image, s.runs, at);
  // Where to send: its own address, loopback for a wildcard one.
  std::vector<uint8_t> to = sockname(fd, false);
  if (to.size() >= sizeof(sockaddr_in) && s.family == AF_INET) {
    sockaddr_in *a = reinterpret_cast<sockaddr_in *>(to.data());
    if (a->sin_addr.s_addr == htonl(INADDR_ANY)) a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else if (to.size() >= sizeof(sockaddr_in6) && s.family == AF_INET6) {
    sockaddr_in6 *a = reinterpret_cast<sockaddr_in6 *>(to.data());
    if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr)) a->sin6_addr = in6addr_loopback;
  }
  const int one = 1;
  size_t pos = 0;
  for (size_t k = 0; k < s.runs.size(); k++) {
    const std::vector<uint8_t> &from = s.senders[k];
    const uint8_t *p = bytes.data() + pos;
    const size_t len = size_t(s.runs[k].len);
    pos += len;
    ssize_t n;
    if (from == to || from == s.name) {
      n = sendto(fd, p, len, MSG_DONTWAIT, reinterpret_cast<const sockaddr *>(to.data()), socklen_t(to.size()));   // to itself
    } else {
      // Sent again from its sender's address (a temporary socket bound there), so
      // recvfrom() names the sender it named.
      Fd t(socket(int(s.family), SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP));
      if (t.fd < 0 || setsockopt(t.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
          bind(t.fd, reinterpret_cast<const sockaddr *>(from.data()), socklen_t(from.size())) < 0)
        throw std::runtime_error(at + ": a queued datagram from " + addr_str(from) + " cannot be sent again from there: " + errno_str(errno));
      n = sendto(t.fd, p, len, MSG_DONTWAIT, reinterpret_cast<const sockaddr *>(to.data()), socklen_t(to.size()));
    }
    if (n != ssize_t(len))
      throw std::runtime_error(at + ": refilling a queued datagram of " + std::to_string(len) + " bytes: " + (n < 0 ? errno_str(errno) : "cut"));
  }
}

void finish_udp_socket(int fd, const SocketImage &s) {
  int reuse = 0;
  for (const SockOpt &o : s.opts)
    if (o.level == SOL_SOCKET && o.name == SO_REUSEADDR) reuse = o.value;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
}

int make_unix_dgram_client(const ProcessImage &img, const SocketImage &s, const ProcessImage &server_img, const std::string &at) {
  SocketImage c = s;
  const std::string path = unix_path(s.peer_name);
  if (!path.empty() && path[0] != '/') {
    // The server's name was relative to its directory; the agent connects by the full path.
    const std::string full = server_img.cwd + "/" + path;
    sockaddr_un u;
    if (full.size() >= sizeof u.sun_path) throw std::runtime_error(at + ": socket path " + full + " too long");
    c.peer_name.assign(sizeof(sa_family_t), 0);
    c.peer_name[0] = AF_UNIX;
    c.peer_name.insert(c.peer_name.end(), full.begin(), full.end());
    c.peer_name.push_back(0);
  }
  return make_socket(img, c, at);
}

namespace {

// A listener made again with its backlog: one socket per client that was waiting in it,
// connected again so that the program's next accept() finds it. connect_one(listener, fd, c)
// connects fd, non-blocking (a full backlog fails rather than hanging the restart), and
// returns false for a client gone or outside the job (c == nullptr): fd is closed then, and
// its place in the result is -1.
std::vector<int> make_backlog(const ProcessImage &img, const SocketImage &l, const std::vector<const SocketImage *> &clients,
                              const std::string &at, int type, int protocol,
                              const std::function<bool(int listener, int fd, const SocketImage *c)> &connect_one) {
  std::vector<int> out{make_socket(img, l, at)};
  try {
    for (const SocketImage *c : clients) {
      int fd = socket(c ? int(c->family) : int(l.family), type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
      if (fd < 0) throw std::runtime_error(at + ": socket: " + errno_str(errno));
      out.push_back(fd);
      if (!connect_one(out[0], fd, c)) {
        close(fd);
        out.back() = -1;
        continue;
      }
      int fl = fcntl(fd, F_GETFL);
      if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) throw std::runtime_error(at + ": F_SETFL: " + errno_str(errno));
      finish_socket(fd, *c, at);
    }
  } catch (...) {
    for (int fd : out)
      if (fd >= 0) close(fd);
    throw;
  }
  return out;
}

}  // namespace

std::vector<int> make_unix_backlog(const ProcessImage &img, const SocketImage &l, const std::vector<const SocketImage *> &clients,
                                   const std::string &at) {
  return make_backlog(img, l, clients, at, int(l.type), 0, [&](int listener, int fd, const SocketImage *c) {
    // The listener's own name (a relative path made absolute by make_socket), to connect to.
    sockaddr_storage a;
    socklen_t alen = sizeof a;
    if (getsockname(listener, reinterpret_cast<sockaddr *>(&a), &alen) < 0)
      throw std::runtime_error(at + ": getsockname: " + errno_str(errno));
    if (c) {
      if (c->name.size() > sizeof(sa_family_t))
        throw std::runtime_error(at + ": a client waiting in its backlog is bound to " + addr_str(c->name) + ": not supported");
      apply_opts(fd, *c, at);
    }
    if (connect(fd, reinterpret_cast<const sockaddr *>(&a), alen) < 0)
      throw std::runtime_error(at + ": connecting a client waiting in its backlog again: " + errno_str(errno));
    return c != nullptr;   // someone outside the job, or a client gone: accepted, it reads as closed
  });
}

std::vector<int> make_tcp_backlog(const ProcessImage &img, const SocketImage &l, const std::vector<const SocketImage *> &clients,
                                  const std::string &at) {
  return make_backlog(img, l, clients, at, SOCK_STREAM, IPPROTO_TCP, [&](int, int fd, const SocketImage *c) {
    if (!c) return false;
    apply_opts(fd, *c, at);
    // Its old port may still be in TIME_WAIT from the killed run (its 4-tuple is new: the
    // listener's embryo of that run is gone).
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, reinterpret_cast<const sockaddr *>(c->name.data()), socklen_t(c->name.size())) < 0)
      throw std::runtime_error(at + ": binding a client waiting in its backlog to " + addr_str(c->name) + " again: " + errno_str(errno));
    if (connect(fd, reinterpret_cast<const sockaddr *>(c->peer_name.data()), socklen_t(c->peer_name.size())) < 0 &&
        errno != EINPROGRESS)
      throw std::runtime_error(at + ": connecting a client waiting in its backlog again: " + errno_str(errno));
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t elen = sizeof err;
    if (poll(&p, 1, 5000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err)
      throw std::runtime_error(at + ": connecting a client waiting in its backlog again: " +
                               (err ? errno_str(err) : std::string("no answer within 5 s")));
    return true;
  });
}

void make_socket_pair(const SocketImage &a, const std::string &image_a, const SocketImage *b, const std::string &image_b,
                      int out[2], const std::string &at) {
  if (socketpair(AF_UNIX, int(a.type) | SOCK_CLOEXEC, 0, out) < 0) throw std::runtime_error(at + ": socketpair: " + errno_str(errno));
  try {
    apply_opts(out[0], a, at);
    if (b) apply_opts(out[1], *b, at);
    refill(out[1], a, image_a, at);
    if (b) refill(out[0], *b, image_b, at);
    if (!b) {
      close(out[1]);
      out[1] = -1;
    }
    finish_socket(out[0], a, at);
    if (b) finish_socket(out[1], *b, at);
  } catch (...) {
    close(out[0]);
    if (out[1] >= 0) close(out[1]);
    throw;
  }
}

void make_tcp_pair(const SocketImage &a, const std::string &image_a, const SocketImage &b, const std::string &image_b, int out[2],
                   std::vector<std::pair<int, Refill>> &pending, const std::string &at) {
  const std::string conn = "a TCP connection " + addr_str(a.name) + " -> " + addr_str(b.name);
  // Without TCP_REPAIR: a listener on a's address and a client bound to b's, both with
  // SO_REUSEADDR (the old connection may linger in TIME_WAIT; the job's listener may share
  // a's port later), connect, accept; the listener is closed at once.
  Fd l(socket(int(a.family), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
  Fd c(socket(int(b.family), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
  if (l.fd < 0 || c.fd < 0) throw std::runtime_error(at + ": " + conn + ": socket: " + errno_str(errno));
  const int one = 1;
  setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(c.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // The old ports when they are free; one still held (a TIME_WAIT left by the killed job
  // whose socket had no SO_REUSEADDR lasts a minute) gives way to a port the kernel picks:
  // the connection is the same, only getsockname/getpeername show the new port.
  auto bind_old_or_any = [&](int fd, const std::vector<uint8_t> &name, bool then_listen) {
    if (bind(fd, reinterpret_cast<const sockaddr *>(name.data()), socklen_t(name.size())) == 0 &&
        (!then_listen || listen(fd, 1) == 0))
      return;
    if (errno != EADDRINUSE) throw std::runtime_error(at + ": " + conn + ": bind " + addr_str(name) + ": " + errno_str(errno));
    Fd fresh(socket(int(a.family), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
    std::vector<uint8_t> any = name;
    any[2] = any[3] = 0;   // sin_port / sin6_port: the same offset in both
    if (fresh.fd < 0 || dup3(fresh.fd, fd, O_CLOEXEC) < 0 ||
        bind(fd, reinterpret_cast<const sockaddr *>(any.data()), socklen_t(any.size())) < 0 || (then_listen && listen(fd, 1) < 0))
      throw std::runtime_error(at + ": " + conn + ": bind " + addr_str(any) + ": " + errno_str(errno));
  };
  bind_old_or_any(l.fd, a.name, true);
  bind_old_or_any(c.fd, b.name, false);
  std::vector<uint8_t> to(sizeof(sockaddr_storage));
  socklen_t tolen = socklen_t(to.size());
  if (getsockname(l.fd, reinterpret_cast<sockaddr *>(to.data()), &tolen) < 0)
    throw std::runtime_error(at + ": " + conn + ": getsockname: " + errno_str(errno));
  to.resize(tolen);
  // The same 4-tuple in TIME_WAIT refuses connect (EADDRNOTAVAIL) for up to a second.
  for (uint64_t t0 = now_ms();;) {
    if (connect(c.fd, reinterpret_cast<const sockaddr *>(to.data()), socklen_t(to.size())) == 0) break;
    if (errno == EINTR) continue;
    if ((errno != EADDRNOTAVAIL && errno != EADDRINUSE) || now_ms() - t0 > 5000)
      throw std::runtime_error(at + ": " + conn + ": connect: " + errno_str(errno));
    usleep(20000);
  }
  int s = accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (s < 0) throw std::runtime_error(at + ": " + conn + ": accept: " + errno_str(errno));
  out[0] = s;
  out[1] = c.fd;
  c.fd = -1;
  try {
    apply_opts(out[0], a, at);
    apply_opts(out[1], b, at);
    // SO_REUSEADDR stays set on both ends whatever was saved: later connections of the same
    // port (one listener's accepted ones) and the job's listener bind it again.
    setsockopt(out[0], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(out[1], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // Each end's bytes, sent by the other end as far as fresh buffers take them now; the
    // rest is left to the caller (sent while the sending process is held).
    for (int k = 0; k < 2; k++) {
      Refill r;
      r.fd = out[1 - k];
      r.own_fd = false;
      r.bytes = read_runs(k == 0 ? image_a : image_b, k == 0 ? a.runs : b.runs, at);
      r.what = at + ": " + conn;
      if (!refill_some(r, 20)) {
        if (!r.err.empty()) throw std::runtime_error(r.what + ": " + r.err);
        pending.emplace_back(1 - k, std::move(r));
      }
    }
  } catch (...) {
    close(out[0]);
    close(out[1]);
    throw;
  }
}

bool refill_some(Refill &r, int wait_ms) {
  uint64_t t0 = now_ms();
  // Test knob: at most this many bytes at once (the rest is pumped while the writer is held),
  // so tests reach the pump without needing buffers that happen not to fit.
  static const long at_once = getenv("CAIRN_TEST_REFILL_AT_ONCE") ? atol(getenv("CAIRN_TEST_REFILL_AT_ONCE")) : -1;
  const size_t limit = at_once >= 0 && wait_ms > 0 ? std::min(r.bytes.size(), r.done + size_t(at_once)) : r.bytes.size();
  while (r.done < limit) {
    ssize_t n = send(r.fd, r.bytes.data() + r.done, limit - r.done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      r.done += size_t(n);
      t0 = now_ms();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) {
      r.err = "sending its bytes in flight back: " + errno_str(errno);
      return false;
    }
    if (now_ms() - t0 >= uint64_t(wait_ms)) return false;
    pollfd p{r.fd, POLLOUT, 0};
    poll(&p, 1, 5);
  }
  return r.done == r.bytes.size();
}

namespace {
struct Pump {
  std::vector<pid_t> held;
  std::vector<Refill> rs;
  std::string err;
  std::atomic<bool> done{false};
};
std::mutex g_pump_mu;
std::vector<std::unique_ptr<Pump>> g_pumps;
}  // namespace

void start_pump(std::vector<pid_t> held, std::vector<Refill> rs) {
  auto p = std::make_unique<Pump>();
  p->held = std::move(held);
  p->rs = std::move(rs);
  Pump *raw = p.get();
  {
    std::lock_guard<std::mutex> g(g_pump_mu);
    g_pumps.push_back(std::move(p));
  }
  // Detached: the Pump stays in g_pumps until take_pumped sees it done (its last access).
  std::thread([raw] {
    // Test knob: the reader makes no room for this long (a reader that is busy elsewhere).
    if (const char *d = getenv("CAIRN_TEST_PUMP_AFTER_MS")) usleep(useconds_t(atol(d)) * 1000);
    std::string e = pump_refills(raw->rs, -1);
    raw->err = std::move(e);
    raw->done.store(true);
  }).detach();
}

bool pumping(pid_t pid) {
  std::lock_guard<std::mutex> g(g_pump_mu);
  for (const auto &p : g_pumps)
    if (!p->done.load() && std::find(p->held.begin(), p->held.end(), pid) != p->held.end()) return true;
  return false;
}

std::vector<pid_t> take_pumped(std::vector<std::string> &errors) {
  std::lock_guard<std::mutex> g(g_pump_mu);
  std::vector<pid_t> out;
  for (auto it = g_pumps.begin(); it != g_pumps.end();) {
    if (!(*it)->done.load()) {
      ++it;
      continue;
    }
    out.insert(out.end(), (*it)->held.begin(), (*it)->held.end());
    if (!(*it)->err.empty()) errors.push_back((*it)->err);
    it = g_pumps.erase(it);
  }
  return out;
}

std::string pump_refills(std::vector<Refill> &rs, int stall_ms) {
  std::string err;
  if (getenv("CAIRN_DEBUG")) {
    size_t left = 0;
    for (const Refill &r : rs) left += r.bytes.size() - r.done;
    fprintf(stderr, "cairn: sending %zu bytes in flight while their writer is held\n", left);
  }
  uint64_t last = now_ms();
  for (;;) {
    std::vector<pollfd> ps;
    for (Refill &r : rs) {
      if (r.done >= r.bytes.size() || !r.err.empty()) continue;
      const size_t before = r.done;
      refill_some(r, 0);
      if (r.done != before) last = now_ms();
      if (!r.err.empty() && err.empty()) err = r.what + ": " + r.err + " (" + std::to_string(r.bytes.size() - r.done) + " bytes lost)";
      if (r.done < r.bytes.size() && r.err.empty()) ps.push_back(pollfd{r.fd, POLLOUT, 0});
    }
    if (ps.empty()) break;
    if (stall_ms >= 0 && now_ms() - last > uint64_t(stall_ms)) {
      size_t left = 0;
      for (const Refill &r : rs) left += r.bytes.size() - r.done;
      if (err.empty())
        err = rs[0].what + ": the reader took none of its " + std::to_string(left) + " bytes in flight for " +
              std::to_string(stall_ms / 1000) + " s (they are lost)";
      break;
    }
    poll(ps.data(), ps.size(), 50);
  }
  for (Refill &r : rs)
    if (r.own_fd && r.fd >= 0) close(r.fd), r.fd = -1;
  return err;
}

bool has_pending_refills(pid_t pid) {
  std::lock_guard<std::mutex> g(g_tcp_mu);
  return g_refills.count(pid) != 0;
}

std::vector<Refill> take_pending_refills(pid_t pid) {
  std::lock_guard<std::mutex> g(g_tcp_mu);
  auto it = g_refills.find(pid);
  if (it == g_refills.end()) return {};
  std::vector<Refill> out = std::move(it->second);
  g_refills.erase(it);
  return out;
}

int make_reset_tcp(const SocketImage &s, const std::string &at) {
  const int fam = int(s.family);
  Fd l(socket(fam, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
  Fd c(socket(fam, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
  if (l.fd < 0 || c.fd < 0) throw std::runtime_error(at + ": socket: " + errno_str(errno));
  sockaddr_storage a;
  memset(&a, 0, sizeof a);
  socklen_t alen;
  if (fam == AF_INET6) {
    auto *a6 = reinterpret_cast<sockaddr_in6 *>(&a);
    a6->sin6_family = AF_INET6;
    a6->sin6_addr = in6addr_loopback;
    alen = sizeof *a6;
  } else {
    auto *a4 = reinterpret_cast<sockaddr_in *>(&a);
    a4->sin_family = AF_INET;
    a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    alen = sizeof *a4;
  }
  if (bind(l.fd, reinterpret_cast<sockaddr *>(&a), alen) < 0 || listen(l.fd, 1) < 0 ||
      getsockname(l.fd, reinterpret_cast<sockaddr *>(&a), &alen) < 0 || connect(c.fd, reinterpret_cast<sockaddr *>(&a), alen) < 0)
    throw std::runtime_error(at + ": a closed connection in place of one to outside the job: " + errno_str(errno));
  Fd acc(accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC));
  if (acc.fd < 0) throw std::runtime_error(at + ": accept: " + errno_str(errno));
  const linger lg{1, 0};   // close with a reset
  setsockopt(acc.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(acc.fd);
  acc.fd = -1;
  pollfd p{c.fd, POLLIN, 0};
  poll(&p, 1, 1000);   // the reset arrives at once on loopback
  apply_opts(c.fd, s, at);
  const int fd = c.fd;
  c.fd = -1;
  return fd;
}

std::string tcp_conn_id(const std::string &a, const std::string &b) { return a < b ? a + "|" + b : b + "|" + a; }

std::vector<TcpEnd> remote_tcp_candidates() {
  std::lock_guard<std::mutex> g(g_tcp_mu);
  std::vector<TcpEnd> out;
  for (const RemoteCandidate &c : g_remote_candidates) out.push_back(TcpEnd{addr_str(c.name), addr_str(c.peer), c.written});
  return out;
}

namespace {
void put_le64(std::vector<uint8_t> &v, uint64_t x) {
  for (int i = 0; i < 8; i++) v.push_back(uint8_t(x >> (8 * i)));
}
uint64_t get_le64(const uint8_t *p) {
  uint64_t x = 0;
  for (int i = 7; i >= 0; i--) x = (x << 8) | p[i];
  return x;
}
}  // namespace

namespace {
// Non-blocking: sends (out) or receives what it can now of p[done..len), adding to done.
// 0 when it would block or is complete; else the errno, or -1 for the peer's EOF.
int move_some(int fd, uint8_t *p, size_t len, size_t &done, bool out) {
  while (done < len) {
    ssize_t n = out ? send(fd, p + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL) : recv(fd, p + done, len - done, MSG_DONTWAIT);
    if (n > 0) done += size_t(n);
    else if (n < 0 && errno == EINTR) continue;
    else if (n < 0 && errno == EAGAIN) return 0;
    else return n == 0 ? -1 : errno;
  }
  return 0;
}
}  // namespace

void echo_tcp(std::vector<EchoEnd> &ends, int timeout_ms) {
  struct St {
    std::vector<uint8_t> out;   // a length, then this end's bytes
    size_t out_done = 0;
    uint8_t hdr[8];
    size_t hdr_got = 0;
    bool sized = false;          // the header is in and `back` has its size
    std::vector<uint8_t> back;   // the peer's bytes, sent straight back
    size_t back_got = 0, back_sent = 0;
    bool done = false;
  };
  std::vector<St> st(ends.size());
  for (size_t i = 0; i < ends.size(); i++) {
    put_le64(st[i].out, ends[i].mine.size());
    st[i].out.insert(st[i].out.end(), ends[i].mine.begin(), ends[i].mine.end());
  }
  const uint64_t deadline = now_ms() + uint64_t(timeout_ms);
  for (;;) {
    bool all = true;
    std::vector<pollfd> ps;
    for (size_t i = 0; i < ends.size(); i++) {
      St &x = st[i];
      const int fd = ends[i].fd;
      const std::string &what = ends[i].what;
      if (x.done) continue;
      auto fail = [&](const std::string &why) { throw std::runtime_error(what + ": " + why); };
      const std::string closed = "the other host's end closed while their bytes in flight were exchanged";
      if (int e = move_some(fd, x.out.data(), x.out.size(), x.out_done, true)) fail("sending its bytes in flight to the other host: " + errno_str(e));
      if (int e = move_some(fd, x.hdr, 8, x.hdr_got, false)) fail(e < 0 ? closed : "receiving: " + errno_str(e));
      if (x.hdr_got == 8 && !x.sized) {
        const uint64_t want = get_le64(x.hdr);
        if (want > (uint64_t(1) << 34)) fail("the other host announced " + std::to_string(want) + " bytes in flight: not a cairn peer");
        x.back.resize(size_t(want));
        x.sized = true;
      }
      if (x.sized)
        if (int e = move_some(fd, x.back.data(), x.back.size(), x.back_got, false)) fail(e < 0 ? closed : "receiving: " + errno_str(e));
      // Back only once this end's own bytes are all out (the peer reads exactly those
      // first) and the peer's are all here; what does not fit now is pumped later.
      if (x.out_done == x.out.size() && x.sized && x.back_got == x.back.size()) {
        if (int e = move_some(fd, x.back.data(), x.back.size(), x.back_sent, true)) fail("sending their bytes in flight back: " + errno_str(e));
        x.done = true;
        continue;
      }
      all = false;
      ps.push_back(pollfd{fd, short(POLLIN | (x.out_done < x.out.size() ? POLLOUT : 0)), 0});
    }
    if (all) break;
    if (now_ms() > deadline) {
      for (size_t i = 0; i < ends.size(); i++)
        if (!st[i].done)
          throw std::runtime_error(ends[i].what + ": the other host's agent did not exchange the bytes in flight within " +
                                   std::to_string(timeout_ms / 1000) + " s (sent " + std::to_string(st[i].out_done) + " of " +
                                   std::to_string(st[i].out.size()) + ", received " + std::to_string(st[i].back_got) + ")");
    }
    poll(ps.data(), ps.size(), 10);
  }
  for (size_t i = 0; i < ends.size(); i++) ends[i].left.assign(st[i].back.begin() + long(st[i].back_sent), st[i].back.end());
}

void drain_remote_tcp(const std::vector<TcpEnd> &matched, int timeout_ms) {
  std::vector<RemoteCandidate> cands;
  {
    std::lock_guard<std::mutex> g(g_tcp_mu);
    cands = g_remote_candidates;
    for (RemotePending &p : g_remote_pending) close(p.h);   // an earlier run's, never echoed
    g_remote_pending.clear();
  }
  std::vector<RemotePending> ws;
  std::vector<uint64_t> targets;
  // Whatever was read stays pending (ABORTED echoes it back), error or not.
  auto keep = [&] {
    std::lock_guard<std::mutex> g(g_tcp_mu);
    for (RemotePending &w : ws) g_remote_pending.push_back(std::move(w));
    ws.clear();
  };
  for (const TcpEnd &m : matched) {
    auto it = std::find_if(cands.begin(), cands.end(), [&](const RemoteCandidate &c) { return addr_str(c.name) == m.local && addr_str(c.peer) == m.peer; });
    if (it == cands.end()) {
      keep();
      throw std::runtime_error("the TCP connection " + m.local + " -> " + m.peer + " is no longer in the job");
    }
    int h = handle_on(it->pid, it->fd);
    if (h < 0) {
      const int e = errno;
      keep();
      fail_pid(it->pid, sock_what(it->fd, it->ino) + ": cannot get a handle on it (pidfd_getfd): " + errno_str(e));
    }
    ws.push_back(RemotePending{*it, h, {},
                               "pid " + std::to_string(it->pid) + " " + sock_what(it->fd, it->ino) + ": the TCP connection " + m.local + " -> " +
                                   m.peer + " (to the job on another host)"});
    targets.push_back(m.written);
  }
  // Exactly the bytes of the stream nobody has read yet: the other end's `written` less what
  // was read here (received less still queued). Anything beyond is the other agent's echo.
  std::vector<uint64_t> need;
  for (size_t i = 0; i < ws.size(); i++) {
    uint64_t written = 0, received = 0;
    int inq = 0;
    if (!tcp_bytes(ws[i].h, written, received) || ioctl(ws[i].h, SIOCINQ, &inq) < 0) {
      keep();
      throw std::runtime_error(ws[i].what + ": TCP_INFO: " + errno_str(errno));
    }
    const uint64_t read_already = received - uint64_t(inq);
    if (targets[i] < read_already) {
      keep();
      throw std::runtime_error(ws[i].what + ": its program read " + std::to_string(read_already) + " bytes, more than the " +
                               std::to_string(targets[i]) + " its other end wrote");
    }
    need.push_back(targets[i] - read_already);
  }
  try {
    // Every byte the other end wrote comes across (its program is frozen: the count is
    // final), read out as it lands.
    std::vector<uint8_t> buf(256u << 10);
    const uint64_t deadline = now_ms() + uint64_t(timeout_ms);
    for (;;) {
      bool all = true;
      std::vector<pollfd> ps;
      for (size_t i = 0; i < ws.size(); i++) {
        RemotePending &w = ws[i];
        while (w.got.size() < need[i]) {
          ssize_t n = recv(w.h, buf.data(), std::min<size_t>(buf.size(), need[i] - w.got.size()), MSG_DONTWAIT);
          if (n > 0) {
            w.got.insert(w.got.end(), buf.data(), buf.data() + n);
            continue;
          }
          if (n < 0 && errno == EINTR) continue;
          if (n < 0 && errno == EAGAIN) break;
          throw std::runtime_error(w.what + ": " + (n == 0 ? std::string("closed by the other host") : "draining: " + errno_str(errno)));
        }
        if (w.got.size() < need[i]) {
          all = false;
          ps.push_back(pollfd{w.h, POLLIN, 0});
        }
      }
      if (all) break;
      if (now_ms() > deadline) {
        for (size_t i = 0; i < ws.size(); i++)
          if (ws[i].got.size() < need[i])
            throw std::runtime_error(ws[i].what + ": " + std::to_string(need[i] - ws[i].got.size()) + " of its bytes in flight did not arrive within " +
                                     std::to_string(timeout_ms / 1000) + " s");
      }
      poll(ps.data(), ps.size(), 10);
    }
  } catch (...) {
    keep();
    throw;
  }
  std::lock_guard<std::mutex> g(g_tcp_mu);
  for (RemotePending &w : ws) {
    TcpDrained d;
    d.bytes = w.got;
    g_tcp[w.c.ino] = std::move(d);
    g_remote[w.c.ino] = tcp_conn_id(addr_str(w.c.name), addr_str(w.c.peer));
    g_remote_pending.push_back(std::move(w));
  }
}

bool has_remote_pending() {
  std::lock_guard<std::mutex> g(g_tcp_mu);
  return !g_remote_pending.empty();
}

void echo_remote_pending(int timeout_ms) {
  std::vector<RemotePending> ws;
  {
    std::lock_guard<std::mutex> g(g_tcp_mu);
    ws.swap(g_remote_pending);
  }
  if (ws.empty()) return;
  // Sent back at once: the other host's agent returns them, and this end's program finds
  // them as they were, before anything its peer writes after the checkpoint.
  std::vector<EchoEnd> es;
  for (RemotePending &w : ws) es.push_back(EchoEnd{w.h, w.got, {}, w.what});
  try {
    echo_tcp(es, timeout_ms);
  } catch (const std::exception &e) {
    for (RemotePending &w : ws) close(w.h);
    throw std::runtime_error(std::string(e.what()) + " (the bytes in flight of that connection are lost to the running job)");
  }
  std::lock_guard<std::mutex> g(g_tcp_mu);
  for (size_t i = 0; i < ws.size(); i++) {
    if (es[i].left.empty()) {
      close(ws[i].h);
      continue;
    }
    // The peer's bytes that did not fit back: sent while this end's program is held.
    Refill r;
    r.fd = ws[i].h;
    r.bytes = std::move(es[i].left);
    r.what = ws[i].what;
    g_refills[ws[i].c.pid].push_back(std::move(r));
  }
}

void set_premade_tcp(uint64_t ino, int fd, std::vector<uint8_t> left) {
  std::lock_guard<std::mutex> g(g_tcp_mu);
  auto old = g_premade.find(ino);
  if (old != g_premade.end()) close(old->second.first);
  g_premade[ino] = {fd, std::move(left)};
}

int take_premade_tcp(const SocketImage &s, std::vector<uint8_t> &left, const std::string &at) {
  std::pair<int, std::vector<uint8_t>> p;
  {
    std::lock_guard<std::mutex> g(g_tcp_mu);
    auto it = g_premade.find(s.ino);
    if (it == g_premade.end())
      throw std::runtime_error(at + ": the TCP connection " + s.remote_conn + " to the job on another host was not made again");
    p = std::move(it->second);
    g_premade.erase(it);
  }
  try {
    apply_opts(p.first, s, at);
  } catch (...) {
    close(p.first);
    throw;
  }
  left = std::move(p.second);
  return p.first;
}

int tcp_listen_any(int family, uint16_t &port) {
  Fd fd(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.fd < 0) throw std::runtime_error(std::string("socket: ") + errno_str(errno));
  sockaddr_storage a{};
  a.ss_family = sa_family_t(family);
  const socklen_t alen = family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (bind(fd.fd, reinterpret_cast<sockaddr *>(&a), alen) < 0 || listen(fd.fd, 8) < 0)
    throw std::runtime_error(std::string("a listener for a connection between hosts: ") + errno_str(errno));
  port = port_of(sockname(fd.fd, false));
  const int out = fd.fd;
  fd.fd = -1;
  return out;
}

int tcp_accept_one(int lfd, int timeout_ms) {
  pollfd p{lfd, POLLIN, 0};
  int r;
  do r = poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r == 0) throw std::runtime_error("the other host's agent did not connect within " + std::to_string(timeout_ms / 1000) + " s");
  int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("accept: ") + errno_str(errno));
  return fd;
}

int tcp_connect_any(const std::vector<std::string> &addrs, int timeout_ms) {
  std::string why;
  for (const std::string &s : addrs) {
    // "a.b.c.d:port" or "[v6]:port"
    const size_t colon = s.rfind(':');
    if (colon == std::string::npos) continue;
    std::string host = s.substr(0, colon);
    const int port = atoi(s.c_str() + colon + 1);
    sockaddr_storage a{};
    socklen_t alen;
    if (!host.empty() && host[0] == '[') {
      host = host.substr(1, host.size() - 2);
      auto *a6 = reinterpret_cast<sockaddr_in6 *>(&a);
      a6->sin6_family = AF_INET6;
      a6->sin6_port = htons(uint16_t(port));
      if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) != 1) continue;
      alen = sizeof *a6;
    } else {
      auto *a4 = reinterpret_cast<sockaddr_in *>(&a);
      a4->sin_family = AF_INET;
      a4->sin_port = htons(uint16_t(port));
      if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) != 1) continue;
      alen = sizeof *a4;
    }
    Fd fd(socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd.fd < 0) continue;
    if (connect(fd.fd, reinterpret_cast<sockaddr *>(&a), alen) < 0 && errno != EINPROGRESS) {
      why = s + ": " + errno_str(errno);
      continue;
    }
    pollfd p{fd.fd, POLLOUT, 0};
    int e = 0;
    socklen_t el = sizeof e;
    if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd.fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
      why = s + ": " + (e ? errno_str(e) : std::string("no answer"));
      continue;
    }
    const int fl = fcntl(fd.fd, F_GETFL);
    fcntl(fd.fd, F_SETFL, fl & ~O_NONBLOCK);
    const int out = fd.fd;
    fd.fd = -1;
    return out;
  }
  throw std::runtime_error("cannot reach the other host's agent" + (why.empty() ? std::string() : " (" + why + ")"));
}

}  // namespace cairn
