// Sockets of a job on one host (the job shares the host's network namespace): UNIX
// socketpairs and connected UNIX stream/seqpacket sockets whose peer is in the job, TCP
// connections between sockets of the job (drained and refilled), with the data queued in
// them; listening and bound sockets (UNIX path or abstract, TCP/UDP over
// IPv4/IPv6). Everything else is refused at checkpoint. Dump and agent-side restore here;
// the restorer's part is native/helpers/restorer_sockets.c.
#pragma once
#include <sys/types.h>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "image.h"

namespace cairn {

// Bytes of a TCP connection the agent must send (again) through one end, in order, before
// the process holding that end may run: a drained queue that did not fit back at once.
struct Refill {
  int fd = -1;                // the agent's handle on the sending end
  bool own_fd = true;         // closed by pump_refills
  std::vector<uint8_t> bytes;
  size_t done = 0;
  std::string what, err;      // for messages; err: a send that failed (not "no room")
};
// Sends what fits now, waiting up to wait_ms for room. True when every byte is in.
bool refill_some(Refill &r, int wait_ms);
// Sends the rest of every refill as the readers (running) make room. "" or what failed
// (a send error, or no room made for stall_ms: the bytes left are lost, said so; a negative
// stall_ms waits for room as long as it takes).
std::string pump_refills(std::vector<Refill> &rs, int stall_ms);
// Live job: the refills check_job_sockets left for the process with this host pid.
bool has_pending_refills(pid_t pid);
std::vector<Refill> take_pending_refills(pid_t pid);

// Refills that did not fit at once are sent on a thread of their own while the processes
// holding their sending ends stay frozen (held by the engine thread, their tracer): a
// writer held until its reader makes room is a writer blocked in write(), as it was. No
// time limit: the bytes are sent when the reader reads, or fail when the connection does.
void start_pump(std::vector<pid_t> held, std::vector<Refill> rs);
// Whether a pump still holds this process (a checkpoint must wait: its stream is split
// between the kernel's queues and the pump).
bool pumping(pid_t pid);
// The processes whose pumps have finished, to be let go now; errors: what a pump could not send.
std::vector<pid_t> take_pumped(std::vector<std::string> &errors);

// After dump_fds (which marks sockets FD_SOCKET with file.ino): one img.sockets entry per
// socket inode, classified, its options and names read through the agent's own handle
// (pidfd_getfd). Throws naming pid, fd and the peer or address for what cannot be restored.
void dump_sockets(pid_t pid, ProcessImage &img);

// The data queued for reading on every SOCKET_PAIR end, appended to the image from `off`:
// peeked (MSG_PEEK with SO_PEEK_OFF, put back as it was), never consumed. Returns the end.
uint64_t dump_socket_queues(pid_t pid, int image_fd, uint64_t off, ProcessImage &img);

// Job-wide, at FD_LEADER: a connected UNIX socket must have its peer among the job's
// sockets (a datagram one connected back to it). A TCP connection whose peer is in the job
// has its bytes in flight drained, sent back at once and kept for dump_sockets and
// dump_socket_queues (others are refused there). `skip`: (dev, ino) of the launcher's stdio.
void check_job_sockets(const std::vector<pid_t> &pids, const std::vector<std::pair<uint64_t, uint64_t>> &skip);

// Before the restorers run: a UNIX path socket's file left by the dead job is removed, only
// when it is the saved inode and no live socket is bound to that path. Throws otherwise.
void clear_stale_unix_path(const ProcessImage &img, const SocketImage &s, const std::string &at);

// Agent-made sockets (job objects): shared by several processes of the job.
// make_socket: an unbound, bound or listening socket as saved. Returns the descriptor.
int make_socket(const ProcessImage &img, const SocketImage &s, const std::string &at);
// Bound UNIX datagram sockets with queued datagrams or job clients are made first
// (make_socket); once every one is made, refill_unix_dgram sends its queued datagrams
// again, each from its sender's name (`made`: the agent's sockets by saved name; else a
// temporary socket bound there; else unnamed). make_unix_dgram_client: a datagram socket connected to a job server's name (a
// relative name taken from the server's directory).
void refill_unix_dgram(int fd, const SocketImage &s, const std::string &image, const std::map<std::vector<uint8_t>, int> &made,
                       const std::string &at);
int make_unix_dgram_client(const ProcessImage &img, const SocketImage &s, const ProcessImage &server_img, const std::string &at);
// UDP sockets with queued datagrams, made before the job's other sockets: make_udp_socket
// (make_socket, SO_REUSEADDR on for now) for every one; then refill_udp sends each one's
// datagrams again, each from its saved sender's address (a temporary socket bound there);
// then finish_udp_socket puts SO_REUSEADDR back as saved.
int make_udp_socket(const ProcessImage &img, const SocketImage &s, const std::string &at);
void refill_udp(int fd, const SocketImage &s, const std::string &image, const std::string &at);
void finish_udp_socket(int fd, const SocketImage &s);
// make_unix_backlog: a UNIX listener (make_socket) with its backlog made again in order:
// clients[k] the job's client (connected, options as saved) or null (someone outside the
// job: connected and closed at once, so accepting it reads EOF). Returns the listener, then
// one descriptor per client (-1 for the closed ones).
std::vector<int> make_unix_backlog(const ProcessImage &img, const SocketImage &l, const std::vector<const SocketImage *> &clients,
                                   const std::string &at);
// make_tcp_backlog: a TCP listener (make_socket) with the job's clients that waited in its
// backlog connected to it again, each from its own old address (same getsockname), in
// order; entry 0 the listener, then one per client (-1 where clients[k] is null).
std::vector<int> make_tcp_backlog(const ProcessImage &img, const SocketImage &l, const std::vector<const SocketImage *> &clients,
                                  const std::string &at);
// make_socket_pair: a socketpair, each end refilled with what was queued for it (read from
// the image files), options, SO_PEEK_OFF and shutdown as saved. b may be null (the other end
// was closed: out[1] is closed after the refill and set to -1).
void make_socket_pair(const SocketImage &a, const std::string &image_a, const SocketImage *b, const std::string &image_b,
                      int out[2], const std::string &at);
// make_tcp_pair: a TCP connection between a's and b's addresses again (loopback, no
// TCP_REPAIR), each end refilled with what was drained for it, options as saved.
// make_reset_tcp: a TCP socket of s's family, options as saved, whose connection was reset
// (a connection to outside the job comes back closed: reads and writes fail, ECONNRESET).
int make_reset_tcp(const SocketImage &s, const std::string &at);
// What did not fit in the fresh buffers is appended to `pending` as (0: sent through
// out[0], a's end; 1: through out[1]) and must be pumped while that end's holders are held.
void make_tcp_pair(const SocketImage &a, const std::string &image_a, const SocketImage &b, const std::string &image_b, int out[2],
                   std::vector<std::pair<int, Refill>> &pending, const std::string &at);

// TCP connections between hosts of one job. An end: its address, its peer's, and every
// byte its program has written (final while the job is frozen).
struct TcpEnd {
  std::string local, peer;
  uint64_t written = 0;
};
// "a|b", the two addresses in order: both ends name their connection alike.
std::string tcp_conn_id(const std::string &a, const std::string &b);
// After check_job_sockets: the job's TCP connections whose other end is not on this host.
std::vector<TcpEnd> remote_tcp_candidates();
// DRAINED, for the candidates the coordinator found the other end of (written: what that
// end wrote): every byte in flight read out and kept for the image; the connection is
// saved with its id (Socket.remote_conn). What was read stays pending, error or not:
// echo_remote_pending puts it back (CHECKPOINTED, or ABORTED), once both hosts' agents
// have drained.
void drain_remote_tcp(const std::vector<TcpEnd> &matched, int timeout_ms);
bool has_remote_pending();
void echo_remote_pending(int timeout_ms);
// Both agents at once, over the connection itself: each end sends a length and its bytes,
// reads its peer's and sends them straight back, so each end's own bytes end up queued for
// it again, before anything written later. left: what did not fit back yet (to be pumped
// while the program holding that end is held).
struct EchoEnd {
  int fd = -1;
  std::vector<uint8_t> mine, left;
  std::string what;
};
void echo_tcp(std::vector<EchoEnd> &ends, int timeout_ms);
// Restart: the agent made the connection of saved socket `ino` again (and echoed its
// bytes); make_job_objects takes it (options as saved) with what is left to pump.
void set_premade_tcp(uint64_t ino, int fd, std::vector<uint8_t> left);
int take_premade_tcp(const SocketImage &s, std::vector<uint8_t> &left, const std::string &at);

// Restart's rendezvous, agent side: a listener on every address (port chosen by the
// kernel), one accepted connection, or a connection to the first of `addrs` that answers.
int tcp_listen_any(int family, uint16_t &port);
int tcp_accept_one(int lfd, int timeout_ms);
int tcp_connect_any(const std::vector<std::string> &addrs, int timeout_ms);

}  // namespace cairn
