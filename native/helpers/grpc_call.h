// Unary gRPC calls over one HTTP/2 connection (cleartext, as the coordinator serves them),
// for cairn's native front (front.c): no library, a few streams at a time.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "hpack.h"

struct grpc_conn {
  int fd;
  uint32_t next_stream;
  struct hpack_decoder hpack;
  uint8_t *in;              // bytes read, not yet a whole frame
  size_t in_len, in_cap;
  uint8_t *block;           // a header block across CONTINUATION frames
  size_t block_len, block_cap;
  uint32_t block_stream;
  int block_end_stream;
  int in_block;             // HEADERS seen without END_HEADERS: CONTINUATION must follow
  int dead;                 // the connection failed or the server went away
};

struct grpc_call {
  uint32_t stream;
  int done;                 // the reply's end was seen (or the call failed)
  int status;               // grpc-status; -1 until the trailers say
  char message[512];        // grpc-message, percent-decoded
  uint8_t *data;            // DATA bytes: gRPC length-prefixed messages
  size_t data_len, data_cap;
};

/** Connects to host:port (every address it resolves to, in order); 0, or -1. */
int grpc_connect(struct grpc_conn *c, const char *host, int port);
void grpc_close(struct grpc_conn *c);

/** Sends one unary request (path like "/cairn.v1.Control/Status") with the job secret as
    metadata; timeout_ms 0 = none. 0, or -1 when the connection failed. */
int grpc_start(struct grpc_conn *c, struct grpc_call *call, const char *authority, const char *path,
               const char *secret_key, const char *secret, const uint8_t *msg, size_t len, int timeout_ms);

/** Reads what the server sent within timeout_ms (-1: wait for something) and files it under
    the calls given. 0, or -1 when the connection is gone (its calls are then done). */
int grpc_pump(struct grpc_conn *c, struct grpc_call **calls, int ncalls, int timeout_ms);

/** The reply's message (the first length-prefixed one), or NULL. */
const uint8_t *grpc_reply(const struct grpc_call *call, size_t *len);
void grpc_call_free(struct grpc_call *call);
