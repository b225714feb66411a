#include "job_objects.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "fd_kinds.h"
#include "ptys.h"
#include "sockets.h"

namespace cairn {

namespace {

std::string who(const ProcessImage &img) { return "pid " + std::to_string(img.ns_pid) + " (" + img.comm + ")"; }

[[noreturn]] void refuse(const ProcessImage &img, const FdImage &f, const std::string &what) {
  throw std::runtime_error(who(img) + ": cannot restore: fd " + std::to_string(f.fd) +
                           (f.path.empty() ? "" : " (" + f.path + ")") + ": " + what);
}

const char *kind_name(FdKind k) {
  switch (k) {
    case FD_EVENTFD: return "an eventfd";
    case FD_TIMERFD: return "a timerfd";
    case FD_SIGNALFD: return "a signalfd";
    case FD_EPOLL: return "an epoll descriptor";
    case FD_INOTIFY: return "an inotify descriptor";
    case FD_SHARED_FILE: return "a memfd or deleted file";
    default: return "this kind of descriptor";
  }
}

// The bytes in flight of a pipe, from the first image that saved them.
std::vector<uint8_t> pipe_bytes(const PipeImage &p, const std::string &image_path, const std::string &at) {
  std::vector<uint8_t> out;
  int fd = open(image_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(at + ": cannot open image " + image_path + ": " + strerror(errno));
  for (const PageRun &r : p.runs) {
    size_t base = out.size();
    out.resize(base + r.len);
    for (uint64_t done = 0; done < r.len;) {
      ssize_t n = pread(fd, out.data() + base + done, r.len - done, off_t(r.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        close(fd);
        throw std::runtime_error(at + ": image " + image_path + " is cut short");
      }
      done += uint64_t(n);
    }
  }
  close(fd);
  return out;
}

}  // namespace

JobObjects::~JobObjects() {
  for (int f : fds) close(f);
}

JobObjects make_job_objects(const std::vector<const ProcessImage *> &procs, const std::vector<std::string> &image_paths) {
  restore_tmpfs_files(procs, image_paths);   // before anything maps them
  JobObjects out;
  out.by_fd.resize(procs.size());
  out.by_shm.resize(procs.size());
  // Shared files (memfds, deleted files, shared anonymous memory) several processes hold:
  // made once, filled from the first image that has them.
  std::map<std::pair<uint64_t, uint64_t>, std::vector<std::pair<size_t, uint32_t>>> shm_holders;
  for (size_t i = 0; i < procs.size(); i++)
    for (uint32_t k = 0; k < procs[i]->shared_files.size(); k++) {
      const FileIdentity &id = procs[i]->shared_files[k].file;
      shm_holders[{id.dev, id.ino}].push_back({i, k});
    }
  std::map<std::pair<size_t, uint32_t>, int> job_shm;   // (process, shared file) -> index into fds
  for (const auto &[key, holders] : shm_holders) {
    std::set<size_t> who_holds;
    for (const auto &h : holders) who_holds.insert(h.first);
    if (who_holds.size() < 2) continue;
    const size_t i0 = holders[0].first;
    const SharedFile &s = procs[i0]->shared_files[holders[0].second];
    const std::string at = who(*procs[i0]) + ": " +
                           (s.kind == SHARED_ANON ? std::string("shared anonymous memory") : s.kind == SHARED_MEMFD ? "memfd:" + s.name : s.name);
    if (s.seals) throw std::runtime_error(at + ": cannot restore: a sealed memfd shared between processes is not supported yet");
    int fd = -1;
    if (s.kind == SHARED_DELETED) {
      std::string dir = s.name.substr(0, s.name.rfind('/'));
      fd = open(dir.empty() ? "/" : dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, s.mode ? s.mode : 0600);
    }
    if (fd < 0) fd = int(memfd_create(s.kind == SHARED_ANON ? "cairn-shared-anon" : s.name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (fd < 0) throw std::runtime_error(at + ": cannot create it again: " + strerror(errno));
    out.fds.push_back(fd);
    const int idx = int(out.fds.size()) - 1;
    if (ftruncate(fd, off_t(s.size)) < 0) throw std::runtime_error(at + ": ftruncate: " + strerror(errno));
    int img = open(image_paths[i0].c_str(), O_RDONLY | O_CLOEXEC);
    if (img < 0) throw std::runtime_error(at + ": cannot open image " + image_paths[i0] + ": " + strerror(errno));
    std::vector<uint8_t> buf(1u << 20);
    for (const PageRun &r : s.runs)
      for (uint64_t done = 0; done < r.len;) {
        size_t want = size_t(std::min<uint64_t>(buf.size(), r.len - done));
        ssize_t n = pread(img, buf.data(), want, off_t(r.offset + done));
        if (n <= 0 || pwrite(fd, buf.data(), size_t(n), off_t(r.addr + done)) != n) {
          close(img);
          throw std::runtime_error(at + ": cannot copy its contents from " + image_paths[i0]);
        }
        done += uint64_t(n);
      }
    close(img);
    for (const auto &h : holders) {
      out.by_shm[h.first][h.second] = idx;
      job_shm[h] = idx;
    }
  }

  // Who holds what: open file descriptions by job-wide id, pipes by inode.
  std::map<uint32_t, std::set<size_t>> ofd_holders;
  std::map<uint64_t, std::set<size_t>> pipe_holders;
  for (size_t i = 0; i < procs.size(); i++)
    for (const FdImage &f : procs[i]->fds) {
      if (f.kind == FD_INHERITED) continue;   // passed anyway: the restarter's stdio
      if (f.ofd) ofd_holders[f.ofd].insert(i);
      if (f.kind == FD_PIPE) pipe_holders[f.file.ino].insert(i);
    }

  std::map<uint32_t, int> index_of_ofd;
  // Pipes with ends in several processes: one pipe, each of its open file descriptions passed.
  for (const auto &[ino, holders] : pipe_holders) {
    if (holders.size() < 2) continue;
    const PipeImage *saved = nullptr;
    size_t saved_by = 0;
    for (size_t i : holders)
      for (const FdImage &f : procs[i]->fds)
        if (f.kind == FD_PIPE && f.file.ino == ino && f.pipe >= 1 && f.pipe <= procs[i]->pipes.size() && !saved) {
          saved = &procs[i]->pipes[f.pipe - 1];
          saved_by = i;
        }
    const std::string at = "pipe:[" + std::to_string(ino) + "]";
    if (!saved) throw std::runtime_error(who(*procs[*holders.begin()]) + ": cannot restore: " + at + " is not in its image");
    int p[2];
    int holder = -1;   // a FIFO: one read-write open holds it while its ends are opened
    if (!saved->path.empty()) {
      holder = open(saved->path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
      if (holder < 0) throw std::runtime_error(who(*procs[saved_by]) + ": cannot open FIFO " + saved->path + ": " + strerror(errno));
      p[0] = open(saved->path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      p[1] = open(saved->path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      close(holder);
      if (p[0] < 0 || p[1] < 0) throw std::runtime_error(who(*procs[saved_by]) + ": cannot open FIFO " + saved->path + ": " + strerror(errno));
      fcntl(p[1], F_SETFL, 0);
    } else if (pipe2(p, O_CLOEXEC | (saved->packet ? O_DIRECT : 0)) < 0) {
      throw std::runtime_error(at + ": pipe2: " + strerror(errno));
    }
    out.fds.push_back(p[0]);
    out.fds.push_back(p[1]);
    const int rd = int(out.fds.size()) - 2, wr = rd + 1;
    if (saved->capacity) fcntl(p[1], F_SETPIPE_SZ, int(saved->capacity));
    std::vector<uint8_t> bytes = pipe_bytes(*saved, image_paths[saved_by], who(*procs[saved_by]) + ": " + at);
    for (size_t done = 0; done < bytes.size();) {
      ssize_t n = write(p[1], bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error(at + ": refilling its " + std::to_string(bytes.size()) + " bytes: " + strerror(errno));
      done += size_t(n);
    }
    bool first_rd = true, first_wr = true;
    for (size_t i : holders)
      for (const FdImage &f : procs[i]->fds) {
        if (f.kind != FD_PIPE || f.file.ino != ino) continue;
        if (!f.ofd) refuse(*procs[i], f, "a pipe shared with other processes, but its open file description is unknown");
        auto known = index_of_ofd.find(f.ofd);
        if (known == index_of_ofd.end()) {
          const int acc = int(f.flags & O_ACCMODE);
          int idx;
          if (acc == O_RDONLY && first_rd) {
            idx = rd;
            first_rd = false;
          } else if (acc == O_WRONLY && first_wr) {
            idx = wr;
            first_wr = false;
          } else {
            // Another open file description of the same pipe (opened through /proc).
            const std::string via = "/proc/self/fd/" + std::to_string(p[0]);
            int nf = open(via.c_str(), acc | O_CLOEXEC | O_NONBLOCK);
            if (nf < 0) refuse(*procs[i], f, std::string("reopening its pipe: ") + strerror(errno));
            out.fds.push_back(nf);
            idx = int(out.fds.size()) - 1;
          }
          if (fcntl(out.fds[size_t(idx)], F_SETFL, f.flags & O_NONBLOCK) < 0)
            refuse(*procs[i], f, std::string("F_SETFL: ") + strerror(errno));
          known = index_of_ofd.emplace(f.ofd, idx).first;
        }
        out.by_fd[i][f.fd] = known->second;
      }
  }
  // Sockets: a socket several processes hold, or a pair whose ends are held by different
  // processes, is made once here (socketpair refilled, or bound/listening) and passed.
  {
    std::map<uint64_t, std::pair<size_t, uint32_t>> saved;   // ino -> (process, sockets index) that saved it
    std::map<uint64_t, std::set<size_t>> holders;
    for (size_t i = 0; i < procs.size(); i++) {
      for (uint32_t k = 0; k < procs[i]->sockets.size(); k++) {
        const SocketImage &s = procs[i]->sockets[k];
        // Every holder's image has the socket; the one that has its bytes in flight speaks.
        auto [it, fresh] = saved.emplace(s.ino, std::make_pair(i, k));
        if (!fresh && procs[it->second.first]->sockets[it->second.second].runs.empty() && !s.runs.empty()) it->second = {i, k};
        clear_stale_unix_path(*procs[i], s, who(*procs[i]) + ": cannot restore: socket:[" + std::to_string(s.ino) + "]");
      }
      for (const FdImage &f : procs[i]->fds)
        if (f.kind == FD_SOCKET) holders[f.file.ino].insert(i);
    }
    // group: the lower inode of a pair, or the socket itself
    std::map<uint64_t, std::set<size_t>> groups;
    auto group_of = [&](uint64_t ino) {
      const auto &[i, k] = saved.at(ino);
      const SocketImage &s = procs[i]->sockets[k];
      return s.state == SOCKET_PAIR && s.peer_ino && saved.count(s.peer_ino) ? std::min(ino, s.peer_ino) : ino;
    };
    for (const auto &[ino, hs] : holders)
      if (saved.count(ino)) groups[group_of(ino)].insert(hs.begin(), hs.end());
    std::map<uint64_t, int> index_of_ino;
    // A TCP connection is always made here (the restorer has no TCP connect/accept), and
    // first: a job listener on the same port binds after it (SO_REUSEADDR), not before.
    auto tcp_pair = [&](uint64_t g) {
      const auto &[i, k] = saved.at(g);
      return procs[i]->sockets[k].state == SOCKET_PAIR && procs[i]->sockets[k].family != AF_UNIX;
    };
    // UDP sockets with datagrams queued: first, so the temporary senders can take the
    // addresses of the job's sockets that sent them.
    std::vector<uint64_t> udp;
    for (const auto &[ino, where] : saved) {
      const SocketImage &s = procs[where.first]->sockets[where.second];
      if (s.family == AF_UNIX || s.type != SOCK_DGRAM || s.runs.empty() || !holders.count(ino)) continue;
      const std::string at = who(*procs[where.first]) + ": cannot restore: socket:[" + std::to_string(s.ino) + "]";
      out.fds.push_back(make_udp_socket(*procs[where.first], s, at));
      index_of_ino[ino] = int(out.fds.size()) - 1;
      udp.push_back(ino);
    }
    for (int pass = 0; pass < 2; pass++)
      for (uint64_t ino : udp) {
        const auto &[i, k] = saved.at(ino);
        const SocketImage &s = procs[i]->sockets[k];
        const int fd = out.fds[size_t(index_of_ino.at(ino))];
        if (pass == 0) refill_udp(fd, s, image_paths[i], who(*procs[i]) + ": cannot restore: socket:[" + std::to_string(ino) + "]");
        else finish_udp_socket(fd, s);
      }
    for (const auto &[g, hs] : groups) {
      if (!tcp_pair(g)) continue;
      const auto &[i0, k0] = saved.at(g);
      const SocketImage &s = procs[i0]->sockets[k0];
      const std::string at = who(*procs[i0]) + ": cannot restore: socket:[" + std::to_string(s.ino) + "]";
      if (s.outside) {   // to outside the job: comes back closed
        out.fds.push_back(make_reset_tcp(s, at));
        index_of_ino[s.ino] = int(out.fds.size()) - 1;
        continue;
      }
      if (s.listener_ino) continue;   // waiting in a backlog: made with its listener, below
      if (!s.remote_conn.empty()) {   // to the job on another host: made by the agent
        std::vector<uint8_t> left;
        out.fds.push_back(take_premade_tcp(s, left, at));
        index_of_ino[s.ino] = int(out.fds.size()) - 1;
        if (!left.empty()) {
          Refill r;
          r.fd = out.fds.back();
          r.own_fd = false;
          r.bytes = std::move(left);
          r.what = at;
          const std::set<size_t> &hs_end = holders[s.ino];
          out.refills.push_back(HeldRefill{std::vector<size_t>(hs_end.begin(), hs_end.end()), std::move(r)});
        }
        continue;
      }
      if (!saved.count(s.peer_ino)) throw std::runtime_error(at + ": a TCP connection whose other end is not in the images");
      const size_t ip = saved.at(s.peer_ino).first;
      const SocketImage &peer = procs[ip]->sockets[saved.at(s.peer_ino).second];
      int sv[2];
      std::vector<std::pair<int, Refill>> pending;
      make_tcp_pair(s, image_paths[i0], peer, image_paths[ip], sv, pending, at);
      out.fds.push_back(sv[0]);
      index_of_ino[s.ino] = int(out.fds.size()) - 1;
      out.fds.push_back(sv[1]);
      index_of_ino[peer.ino] = int(out.fds.size()) - 1;
      for (auto &[end, r] : pending) {
        const std::set<size_t> &hs_end = holders[end == 0 ? s.ino : peer.ino];
        out.refills.push_back(HeldRefill{std::vector<size_t>(hs_end.begin(), hs_end.end()), std::move(r)});
      }
    }
    // A listener with clients of the job waiting in its backlog: the listener first, then
    // each client connected in its turn (the order accept() will give them).
    for (const auto &[g, hs] : groups) {
      const auto &[i0, k0] = saved.at(g);
      const SocketImage &l = procs[i0]->sockets[k0];
      if (l.state != SOCKET_LISTEN || l.pending_clients.empty()) continue;
      const std::string at = who(*procs[i0]) + ": cannot restore: socket:[" + std::to_string(l.ino) + "]";
      std::vector<const SocketImage *> clients;
      for (uint64_t c : l.pending_clients) {
        auto it = c ? saved.find(c) : saved.end();
        const SocketImage *cs = it == saved.end() ? nullptr : &procs[it->second.first]->sockets[it->second.second];
        clients.push_back(cs && cs->listener_ino == l.ino ? cs : nullptr);
      }
      std::vector<int> fds = l.family == AF_UNIX ? make_unix_backlog(*procs[i0], l, clients, at) : make_tcp_backlog(*procs[i0], l, clients, at);
      for (size_t k = 0; k < fds.size(); k++) {
        if (fds[k] < 0) continue;
        out.fds.push_back(fds[k]);
        index_of_ino[k == 0 ? l.ino : clients[k - 1]->ino] = int(out.fds.size()) - 1;
      }
    }
    // UNIX datagram servers with queued datagrams or clients of the job, then their
    // clients, connected to them by name.
    std::set<uint64_t> dgram_servers;
    for (const auto &[ino, where] : saved) {
      const SocketImage &s = procs[where.first]->sockets[where.second];
      if (s.family != AF_UNIX || s.type != SOCK_DGRAM || s.state != SOCKET_BOUND) continue;
      if (s.peer_ino && saved.count(s.peer_ino)) dgram_servers.insert(s.peer_ino);
      if (!s.runs.empty() && holders.count(ino)) dgram_servers.insert(ino);
    }
    std::map<std::vector<uint8_t>, int> made;   // saved name -> the agent's socket
    std::vector<uint64_t> to_refill;
    for (uint64_t ino : dgram_servers) {
      const auto &[i0, k0] = saved.at(ino);
      const SocketImage &s = procs[i0]->sockets[k0];
      if (index_of_ino.count(ino) || !holders.count(ino)) continue;
      const std::string at = who(*procs[i0]) + ": cannot restore: socket:[" + std::to_string(s.ino) + "]";
      out.fds.push_back(make_socket(*procs[i0], s, at));
      index_of_ino[ino] = int(out.fds.size()) - 1;
      if (s.name.size() > sizeof(sa_family_t)) made[s.name] = out.fds.back();
      to_refill.push_back(ino);
    }
    for (uint64_t ino : to_refill) {
      const auto &[i0, k0] = saved.at(ino);
      refill_unix_dgram(out.fds[size_t(index_of_ino.at(ino))], procs[i0]->sockets[k0], image_paths[i0], made,
                        who(*procs[i0]) + ": cannot restore: socket:[" + std::to_string(ino) + "]");
    }
    for (const auto &[ino, where] : saved) {
      const SocketImage &s = procs[where.first]->sockets[where.second];
      if (s.family != AF_UNIX || s.type != SOCK_DGRAM || s.state != SOCKET_BOUND || !s.peer_ino || !holders.count(ino)) continue;
      const std::string at = who(*procs[where.first]) + ": cannot restore: socket:[" + std::to_string(s.ino) + "]";
      auto server = saved.find(s.peer_ino);
      if (server == saved.end()) throw std::runtime_error(at + ": the datagram socket it is connected to is not in the images");
      out.fds.push_back(make_unix_dgram_client(*procs[where.first], s, *procs[server->second.first], at));
      index_of_ino[ino] = int(out.fds.size()) - 1;
    }
    for (const auto &[g, hs] : groups) {
      if (hs.size() < 2 || tcp_pair(g) || index_of_ino.count(g)) continue;
      const auto &[i0, k0] = saved.at(g);
      const SocketImage &s = procs[i0]->sockets[k0];
      const std::string at = who(*procs[i0]) + ": cannot restore: socket:[" + std::to_string(s.ino) + "]";
      if (s.state == SOCKET_PAIR) {
        const SocketImage *peer = nullptr;
        size_t ip = 0;
        if (s.peer_ino && saved.count(s.peer_ino)) {
          ip = saved.at(s.peer_ino).first;
          peer = &procs[ip]->sockets[saved.at(s.peer_ino).second];
        }
        int sv[2];
        make_socket_pair(s, image_paths[i0], peer, peer ? image_paths[ip] : std::string(), sv, at);
        out.fds.push_back(sv[0]);
        index_of_ino[s.ino] = int(out.fds.size()) - 1;
        if (peer) {
          out.fds.push_back(sv[1]);
          index_of_ino[peer->ino] = int(out.fds.size()) - 1;
        }
      } else {
        out.fds.push_back(make_socket(*procs[i0], s, at));
        index_of_ino[s.ino] = int(out.fds.size()) - 1;
      }
    }
    for (size_t i = 0; i < procs.size(); i++)
      for (const FdImage &f : procs[i]->fds) {
        if (f.kind != FD_SOCKET) continue;
        auto it = index_of_ino.find(f.file.ino);
        if (it == index_of_ino.end()) continue;
        // A socket has one open file description: its O_NONBLOCK is the saved one.
        const int sfd = out.fds[size_t(it->second)], fl = fcntl(sfd, F_GETFL);
        if (fl < 0 || fcntl(sfd, F_SETFL, (fl & ~O_NONBLOCK) | int(f.flags & O_NONBLOCK)) < 0)
          refuse(*procs[i], f, std::string("F_SETFL: ") + strerror(errno));
        out.by_fd[i][f.fd] = it->second;
        if (f.ofd) index_of_ofd[f.ofd] = it->second;
      }
  }

  make_ptys(procs, image_paths, out);

  // Other open file descriptions held by several processes.
  for (const auto &[ofd, holders] : ofd_holders) {
    if (holders.size() < 2 || index_of_ofd.count(ofd)) continue;
    int idx = -1;
    for (size_t i : holders)
      for (const FdImage &f : procs[i]->fds) {
        if (f.ofd != ofd || f.kind == FD_INHERITED || f.kind == FD_PTY) continue;   // ptys: make_ptys
        if (idx < 0) {
          auto shm = f.kind == FD_SHARED_FILE ? job_shm.find({i, f.shared_file - 1}) : job_shm.end();
          if (shm != job_shm.end()) {
            // its own open file description of the shared file made above
            const std::string via = "/proc/self/fd/" + std::to_string(out.fds[size_t(shm->second)]);
            // through /proc/self/fd, a magic link: O_NOFOLLOW (shm_open's) would refuse it
            int nf = open(via.c_str(), int(f.flags & ~uint32_t(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_NOFOLLOW)) | O_CLOEXEC);
            if (nf < 0) refuse(*procs[i], f, std::string("cannot reopen it: ") + strerror(errno));
            out.fds.push_back(nf);
            idx = int(out.fds.size()) - 1;
            if (f.pos && lseek(nf, off_t(f.pos), SEEK_SET) < 0) refuse(*procs[i], f, std::string("lseek: ") + strerror(errno));
            out.by_fd[i][f.fd] = idx;
            continue;
          }
          if (f.kind != FD_FILE && f.kind != FD_DIRECTORY && f.kind != FD_DEVNULL)
            refuse(*procs[i], f, std::string(kind_name(f.kind)) + " shared with other processes is not supported yet");
          const int flags = f.kind == FD_DIRECTORY ? O_RDONLY | O_DIRECTORY
                                                    : int(f.flags & ~uint32_t(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_NOCTTY));
          int nf = open(f.path.c_str(), flags | O_CLOEXEC);
          if (nf < 0) refuse(*procs[i], f, std::string("cannot open it: ") + strerror(errno));
          out.fds.push_back(nf);
          idx = int(out.fds.size()) - 1;
          if (f.kind != FD_DEVNULL && f.pos && lseek(nf, off_t(f.pos), SEEK_SET) < 0)
            refuse(*procs[i], f, std::string("lseek: ") + strerror(errno));
        }
        out.by_fd[i][f.fd] = idx;
      }
    index_of_ofd[ofd] = idx;
  }
  return out;
}

void check_job_objects(const std::vector<const ProcessImage *> &procs) {
  check_ptys(procs);
  std::map<uint32_t, std::set<size_t>> ofd_holders;
  std::map<std::pair<uint64_t, uint64_t>, std::set<size_t>> shm_holders;
  for (size_t i = 0; i < procs.size(); i++) {
    for (const FdImage &f : procs[i]->fds)
      if (f.kind != FD_INHERITED && f.ofd) ofd_holders[f.ofd].insert(i);
    for (const SharedFile &s : procs[i]->shared_files) shm_holders[{s.file.dev, s.file.ino}].insert(i);
  }
  for (size_t i = 0; i < procs.size(); i++) {
    for (const SharedFile &s : procs[i]->shared_files)
      if (s.seals && shm_holders[{s.file.dev, s.file.ino}].size() > 1)
        throw std::runtime_error(who(*procs[i]) + ": cannot restore: memfd:" + s.name +
                                 ": a sealed memfd shared between processes is not supported yet");
    for (const FdImage &f : procs[i]->fds) {
      if (f.kind == FD_INHERITED || !f.ofd || ofd_holders[f.ofd].size() < 2) continue;
      if (f.kind != FD_FILE && f.kind != FD_DIRECTORY && f.kind != FD_DEVNULL && f.kind != FD_PIPE && f.kind != FD_SHARED_FILE &&
          f.kind != FD_SOCKET && f.kind != FD_PTY)
        refuse(*procs[i], f, std::string(kind_name(f.kind)) + " shared with other processes is not supported yet");
    }
  }
}

}  // namespace cairn
