// HPACK header decoding (RFC 7541) for cairn's own gRPC client (front.c): the coordinator's
// HTTP/2 server compresses the headers of its replies, grpc-status among them.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define HPACK_MAX_ENTRIES 256

struct hpack_entry {
  char *name, *value;
  size_t nlen, vlen;
};

struct hpack_decoder {
  struct hpack_entry dyn[HPACK_MAX_ENTRIES];   // newest first
  size_t count, size, max_size;
};

typedef void (*hpack_header_fn)(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen);

void hpack_init(struct hpack_decoder *d, size_t max_size);
void hpack_free(struct hpack_decoder *d);
/** Decodes one complete header block; 0, or -1 when it is malformed. */
int hpack_decode(struct hpack_decoder *d, const uint8_t *p, size_t n, hpack_header_fn fn, void *ctx);

/** Appends a header to an encoded block as a literal never indexed (no Huffman): what a
    request of a few headers needs. Returns the new length, or 0 when cap is too small. */
size_t hpack_put_literal(uint8_t *out, size_t len, size_t cap, int static_name_index, const char *name, const char *value);
