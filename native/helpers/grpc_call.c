// Unary gRPC over HTTP/2 (RFC 9113; gRPC's PROTOCOL-HTTP2): the client preface, one HEADERS
// and one DATA frame per call, and every frame the server may send back handled as the
// protocol requires (SETTINGS and PING acknowledged, flow control credited, CONTINUATION
// joined, header blocks always decoded so that the HPACK tables stay in step).
#include "grpc_call.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { F_DATA = 0, F_HEADERS = 1, F_RST_STREAM = 3, F_SETTINGS = 4, F_PING = 6, F_GOAWAY = 7, F_CONTINUATION = 9 };
enum { FL_END_STREAM = 0x1, FL_ACK = 0x1, FL_END_HEADERS = 0x4, FL_PADDED = 0x8, FL_PRIORITY = 0x20 };
enum { GRPC_INTERNAL = 13, GRPC_UNAVAILABLE = 14 };

static int grow(uint8_t **buf, size_t *cap, size_t need) {
  if (need <= *cap) return 0;
  size_t n = *cap ? *cap : 4096;
  while (n < need) n *= 2;
  uint8_t *b = realloc(*buf, n);
  if (!b) return -1;
  *buf = b;
  *cap = n;
  return 0;
}

static int write_all(struct grpc_conn *c, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      c->dead = 1;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void frame_head(uint8_t *h, size_t len, int type, int flags, uint32_t stream) {
  h[0] = (uint8_t)(len >> 16), h[1] = (uint8_t)(len >> 8), h[2] = (uint8_t)len;
  h[3] = (uint8_t)type, h[4] = (uint8_t)flags;
  h[5] = (uint8_t)(stream >> 24 & 0x7f), h[6] = (uint8_t)(stream >> 16), h[7] = (uint8_t)(stream >> 8), h[8] = (uint8_t)stream;
}

static int send_frame(struct grpc_conn *c, int type, int flags, uint32_t stream, const uint8_t *payload, size_t len) {
  uint8_t buf[9 + 64];
  if (len > 64) return -1;
  frame_head(buf, len, type, flags, stream);
  if (len) memcpy(buf + 9, payload, len);
  return write_all(c, buf, 9 + len);
}

int grpc_connect(struct grpc_conn *c, const char *host, int port) {
  memset(c, 0, sizeof *c);
  c->fd = -1;
  c->next_stream = 1;
  hpack_init(&c->hpack, 4096);
  char service[16];
  snprintf(service, sizeof service, "%d", port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  if (getaddrinfo(host, service, &hints, &res) != 0) return -1;
  for (struct addrinfo *a = res; a && c->fd < 0; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      c->fd = fd;
    } else {
      close(fd);
    }
  }
  freeaddrinfo(res);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Preface, then SETTINGS: no server push.
  static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  uint8_t hello[sizeof preface - 1 + 9 + 6];
  memcpy(hello, preface, sizeof preface - 1);
  frame_head(hello + sizeof preface - 1, 6, F_SETTINGS, 0, 0);
  static const uint8_t no_push[6] = {0, 2, 0, 0, 0, 0};
  memcpy(hello + sizeof preface - 1 + 9, no_push, 6);
  return write_all(c, hello, sizeof hello);
}

void grpc_close(struct grpc_conn *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  hpack_free(&c->hpack);
  free(c->in);
  free(c->block);
  c->in = c->block = NULL;
}

int grpc_start(struct grpc_conn *c, struct grpc_call *call, const char *authority, const char *path,
               const char *secret_key, const char *secret, const uint8_t *msg, size_t len, int timeout_ms) {
  memset(call, 0, sizeof *call);
  call->status = -1;
  call->stream = c->next_stream;
  c->next_stream += 2;
  if (c->dead) {
    call->done = 1;
    call->status = GRPC_UNAVAILABLE;
    return -1;
  }
  uint8_t block[1024];
  size_t n = 0;
  block[n++] = 0x83;   // :method POST (static table 3)
  block[n++] = 0x86;   // :scheme http (6)
  char timeout[24];
  snprintf(timeout, sizeof timeout, "%dm", timeout_ms);
  if (!(n = hpack_put_literal(block, n, sizeof block, 4, NULL, path)) ||
      !(n = hpack_put_literal(block, n, sizeof block, 1, NULL, authority)) ||
      !(n = hpack_put_literal(block, n, sizeof block, 31, NULL, "application/grpc")) ||
      !(n = hpack_put_literal(block, n, sizeof block, 0, "te", "trailers")) ||
      (timeout_ms > 0 && !(n = hpack_put_literal(block, n, sizeof block, 0, "grpc-timeout", timeout))) ||
      !(n = hpack_put_literal(block, n, sizeof block, 0, secret_key, secret)))
    return -1;
  uint8_t *out = malloc(9 + n + 9 + 5 + len);
  if (!out) return -1;
  frame_head(out, n, F_HEADERS, FL_END_HEADERS, call->stream);
  memcpy(out + 9, block, n);
  uint8_t *d = out + 9 + n;
  frame_head(d, 5 + len, F_DATA, FL_END_STREAM, call->stream);
  d[9] = 0;   // not compressed
  d[10] = (uint8_t)(len >> 24), d[11] = (uint8_t)(len >> 16), d[12] = (uint8_t)(len >> 8), d[13] = (uint8_t)len;
  if (len) memcpy(d + 14, msg, len);
  int rc = write_all(c, out, 9 + n + 9 + 5 + len);
  free(out);
  return rc;
}

static struct grpc_call *find(struct grpc_call **calls, int n, uint32_t stream) {
  for (int i = 0; i < n; i++)
    if (calls[i] && calls[i]->stream == stream) return calls[i];
  return NULL;
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

static void on_header(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen) {
  struct grpc_call *call = ctx;
  if (!call) return;
  if (nlen == 11 && !memcmp(name, "grpc-status", 11)) {
    call->status = 0;
    for (size_t i = 0; i < vlen && value[i] >= '0' && value[i] <= '9'; i++) call->status = call->status * 10 + (value[i] - '0');
  } else if (nlen == 12 && !memcmp(name, "grpc-message", 12)) {
    size_t o = 0;   // percent-encoded (gRPC's PROTOCOL-HTTP2)
    for (size_t i = 0; i < vlen && o + 1 < sizeof call->message; i++) {
      int hi, lo;
      if (value[i] == '%' && i + 2 < vlen + 0 && (hi = hexval(value[i + 1])) >= 0 && (lo = hexval(value[i + 2])) >= 0) {
        call->message[o++] = (char)(hi << 4 | lo);
        i += 2;
      } else {
        call->message[o++] = value[i];
      }
    }
    call->message[o] = 0;
  }
}

static void fail_call(struct grpc_call *call, int status, const char *why) {
  if (!call || call->done) return;
  call->done = 1;
  call->status = status;
  snprintf(call->message, sizeof call->message, "%s", why);
}

static int header_block_done(struct grpc_conn *c, struct grpc_call **calls, int n) {
  struct grpc_call *call = find(calls, n, c->block_stream);
  if (hpack_decode(&c->hpack, c->block, c->block_len, on_header, call) < 0) return -1;
  c->block_len = 0;
  c->in_block = 0;
  if (call && c->block_end_stream) call->done = 1;
  return 0;
}

/** One whole frame: its header h, payload p of len bytes. */
static int on_frame(struct grpc_conn *c, const uint8_t *h, const uint8_t *p, size_t len, struct grpc_call **calls, int n) {
  int type = h[3], flags = h[4];
  uint32_t stream = ((uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8]) & 0x7fffffff;
  struct grpc_call *call = find(calls, n, stream);
  if (c->in_block != (type == F_CONTINUATION)) return -1;   // a header block goes on, alone
  if ((type == F_DATA || type == F_HEADERS) && (flags & FL_PADDED)) {
    if (!len || p[0] >= len) return -1;
    len -= 1 + p[0];
    p++;
  }
  switch (type) {
    case F_DATA:
      if (call && len) {
        if (grow(&call->data, &call->data_cap, call->data_len + len) < 0) return -1;
        memcpy(call->data + call->data_len, p, len);
        call->data_len += len;
      }
      if (h[0] || h[1] || h[2]) {   // give the flow-control window back (whole frame, padding too)
        size_t all = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
        uint8_t inc[4] = {(uint8_t)(all >> 24), (uint8_t)(all >> 16), (uint8_t)(all >> 8), (uint8_t)all};
        send_frame(c, 8, 0, 0, inc, 4);
        if (!(flags & FL_END_STREAM)) send_frame(c, 8, 0, stream, inc, 4);
      }
      if (call && (flags & FL_END_STREAM)) call->done = 1;
      return 0;
    case F_HEADERS:
    case F_CONTINUATION:
      if (type == F_HEADERS) {
        if (flags & FL_PRIORITY) {
          if (len < 5) return -1;
          p += 5;
          len -= 5;
        }
        c->block_stream = stream;
        c->block_end_stream = flags & FL_END_STREAM;
        c->in_block = 1;
      } else if (stream != c->block_stream) {
        return -1;
      }
      if (grow(&c->block, &c->block_cap, c->block_len + len + 1) < 0) return -1;
      memcpy(c->block + c->block_len, p, len);
      c->block_len += len;
      if (!(flags & FL_END_HEADERS)) return 0;
      return header_block_done(c, calls, n);
    case F_RST_STREAM:
      fail_call(call, GRPC_INTERNAL, "the coordinator reset the call");
      return 0;
    case F_SETTINGS:
      return (flags & FL_ACK) ? 0 : send_frame(c, F_SETTINGS, FL_ACK, 0, NULL, 0);
    case F_PING:
      return (flags & FL_ACK) || len != 8 ? 0 : send_frame(c, F_PING, FL_ACK, 0, p, 8);
    case F_GOAWAY:
      if (len >= 4) {   // streams above the last one it processed will get no reply
        uint32_t last = ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]) & 0x7fffffff;
        for (int i = 0; i < n; i++)
          if (calls[i] && calls[i]->stream > last) fail_call(calls[i], GRPC_UNAVAILABLE, "the coordinator closed the connection");
      }
      return 0;
    default:   // PRIORITY, WINDOW_UPDATE, unknown types: nothing to do
      return 0;
  }
}

int grpc_pump(struct grpc_conn *c, struct grpc_call **calls, int ncalls, int timeout_ms) {
  if (!c->dead) {
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int r = poll(&pfd, 1, timeout_ms);
    if (r < 0 && errno != EINTR) c->dead = 1;
    if (r > 0) {
      if (grow(&c->in, &c->in_cap, c->in_len + 65536) < 0) {
        c->dead = 1;
      } else {
        ssize_t got = recv(c->fd, c->in + c->in_len, 65536, 0);
        if (got > 0) c->in_len += (size_t)got;
        else if (got == 0 || (errno != EINTR && errno != EAGAIN)) c->dead = 1;
      }
    }
  }
  size_t off = 0;
  while (!c->dead && c->in_len - off >= 9) {
    const uint8_t *h = c->in + off;
    size_t len = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
    if (c->in_len - off < 9 + len) break;
    if (on_frame(c, h, h + 9, len, calls, ncalls) < 0) c->dead = 1;
    off += 9 + len;
  }
  memmove(c->in, c->in + off, c->in_len - off);
  c->in_len -= off;
  if (c->dead) {
    for (int i = 0; i < ncalls; i++) fail_call(calls[i], GRPC_UNAVAILABLE, "the connection to the coordinator was lost");
    return -1;
  }
  return 0;
}

const uint8_t *grpc_reply(const struct grpc_call *call, size_t *len) {
  if (call->data_len < 5 || call->data[0] != 0) return NULL;   // compressed replies are never asked for
  size_t n = (size_t)call->data[1] << 24 | (size_t)call->data[2] << 16 | (size_t)call->data[3] << 8 | call->data[4];
  if (n > call->data_len - 5) return NULL;
  *len = n;
  return call->data + 5;
}

void grpc_call_free(struct grpc_call *call) {
  free(call->data);
  call->data = NULL;
}
