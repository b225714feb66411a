// HPACK decoding (RFC 7541): integers, strings (raw or Huffman), the static and dynamic
// tables. Enough for any server's header blocks; the encoder side is only literals.
#include "hpack.h"
#include "hpack_huffman.h"

#include <stdlib.h>
#include <string.h>

static const char *const static_table[61][2] = {
  {":authority", ""}, {":method", "GET"}, {":method", "POST"}, {":path", "/"},
  {":path", "/index.html"}, {":scheme", "http"}, {":scheme", "https"}, {":status", "200"},
  {":status", "204"}, {":status", "206"}, {":status", "304"}, {":status", "400"},
  {":status", "404"}, {":status", "500"}, {"accept-charset", ""},
  {"accept-encoding", "gzip, deflate"}, {"accept-language", ""}, {"accept-ranges", ""},
  {"accept", ""}, {"access-control-allow-origin", ""}, {"age", ""}, {"allow", ""},
  {"authorization", ""}, {"cache-control", ""}, {"content-disposition", ""},
  {"content-encoding", ""}, {"content-language", ""}, {"content-length", ""},
  {"content-location", ""}, {"content-range", ""}, {"content-type", ""}, {"cookie", ""},
  {"date", ""}, {"etag", ""}, {"expect", ""}, {"expires", ""}, {"from", ""}, {"host", ""},
  {"if-match", ""}, {"if-modified-since", ""}, {"if-none-match", ""}, {"if-range", ""},
  {"if-unmodified-since", ""}, {"last-modified", ""}, {"link", ""}, {"location", ""},
  {"max-forwards", ""}, {"proxy-authenticate", ""}, {"proxy-authorization", ""},
  {"range", ""}, {"referer", ""}, {"refresh", ""}, {"retry-after", ""}, {"server", ""},
  {"set-cookie", ""}, {"strict-transport-security", ""}, {"transfer-encoding", ""},
  {"user-agent", ""}, {"vary", ""}, {"via", ""}, {"www-authenticate", ""},
};

void hpack_init(struct hpack_decoder *d, size_t max_size) {
  memset(d, 0, sizeof *d);
  d->max_size = max_size;
}

static void drop_oldest(struct hpack_decoder *d) {
  struct hpack_entry *e = &d->dyn[--d->count];
  d->size -= e->nlen + e->vlen + 32;
  free(e->name);
  free(e->value);
}

void hpack_free(struct hpack_decoder *d) {
  while (d->count) drop_oldest(d);
}

static void evict_to(struct hpack_decoder *d, size_t limit) {
  while (d->count && d->size > limit) drop_oldest(d);
}

static int insert(struct hpack_decoder *d, const char *n, size_t nlen, const char *v, size_t vlen) {
  size_t sz = nlen + vlen + 32;
  if (sz > d->max_size) {   // an entry larger than the table empties it (RFC 7541 4.4)
    evict_to(d, 0);
    return 0;
  }
  evict_to(d, d->max_size - sz);
  if (d->count == HPACK_MAX_ENTRIES) drop_oldest(d);
  char *nc = malloc(nlen + 1), *vc = malloc(vlen + 1);
  if (!nc || !vc) {
    free(nc);
    free(vc);
    return -1;
  }
  memcpy(nc, n, nlen);
  nc[nlen] = 0;
  memcpy(vc, v, vlen);
  vc[vlen] = 0;
  memmove(&d->dyn[1], &d->dyn[0], d->count * sizeof d->dyn[0]);
  d->dyn[0] = (struct hpack_entry){nc, vc, nlen, vlen};
  d->count++;
  d->size += sz;
  return 0;
}

static int lookup(const struct hpack_decoder *d, uint64_t idx, const char **n, size_t *nlen, const char **v, size_t *vlen) {
  if (idx >= 1 && idx <= 61) {
    *n = static_table[idx - 1][0];
    *v = static_table[idx - 1][1];
    *nlen = strlen(*n);
    *vlen = strlen(*v);
    return 0;
  }
  if (idx < 62 || idx - 62 >= d->count) return -1;
  const struct hpack_entry *e = &d->dyn[idx - 62];
  *n = e->name, *nlen = e->nlen, *v = e->value, *vlen = e->vlen;
  return 0;
}

static int read_int(const uint8_t **p, const uint8_t *end, int prefix_bits, uint64_t *out) {
  if (*p >= end) return -1;
  uint64_t max = (1u << prefix_bits) - 1, v = **p & max;
  (*p)++;
  if (v < max) {
    *out = v;
    return 0;
  }
  for (int shift = 0; shift < 56; shift += 7) {
    if (*p >= end) return -1;
    uint8_t b = *(*p)++;
    v += (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

/** Huffman-decodes n bytes into out (which has room for 8/5 * n bytes). */
static int huff_decode(const uint8_t *p, size_t n, char *out, size_t *outlen) {
  uint64_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    acc = (acc << 8) | p[i];
    bits += 8;
    // The shortest code is 5 bits, the longest 30: try each length the buffer holds.
    for (int len = 5; len <= bits && len <= 30;) {
      uint32_t code = (uint32_t)((acc >> (bits - len)) & ((1u << len) - 1));
      int sym = -1;
      for (int s = 0; s < 256; s++)
        if (hpack_huff_len[s] == len && hpack_huff_code[s] == code) {
          sym = s;
          break;
        }
      if (sym < 0) {
        len++;
        continue;
      }
      out[o++] = (char)sym;
      bits -= len;
      acc &= bits ? (((uint64_t)1 << bits) - 1) : 0;
      len = 5;
    }
    if (bits >= 30) return -1;   // no code matched 30 bits: EOS or garbage
  }
  // Padding: fewer than 8 bits, all ones (the start of EOS).
  if (bits > 7 || acc != (((uint64_t)1 << bits) - 1)) return -1;
  *outlen = o;
  return 0;
}

static int read_string(const uint8_t **p, const uint8_t *end, char **buf, size_t *len) {
  if (*p >= end) return -1;
  int huff = **p & 0x80;
  uint64_t n;
  if (read_int(p, end, 7, &n) < 0 || n > (uint64_t)(end - *p)) return -1;
  if (huff) {
    *buf = malloc(n * 8 / 5 + 1);
    if (!*buf || huff_decode(*p, n, *buf, len) < 0) {
      free(*buf);
      return -1;
    }
  } else {
    *buf = malloc(n + 1);
    if (!*buf) return -1;
    memcpy(*buf, *p, n);
    *len = n;
  }
  (*buf)[*len] = 0;
  *p += n;
  return 0;
}

int hpack_decode(struct hpack_decoder *d, const uint8_t *p, size_t n, hpack_header_fn fn, void *ctx) {
  const uint8_t *end = p + n;
  while (p < end) {
    uint8_t b = *p;
    uint64_t idx;
    if (b & 0x80) {   // indexed field
      const char *hn, *hv;
      size_t nl, vl;
      if (read_int(&p, end, 7, &idx) < 0 || lookup(d, idx, &hn, &nl, &hv, &vl) < 0) return -1;
      fn(ctx, hn, nl, hv, vl);
      continue;
    }
    if ((b & 0xe0) == 0x20) {   // dynamic table size update
      if (read_int(&p, end, 5, &idx) < 0 || idx > 65536) return -1;
      d->max_size = idx;
      evict_to(d, idx);
      continue;
    }
    int indexing = (b & 0xc0) == 0x40;   // else literal without / never indexed (4-bit prefix)
    if (read_int(&p, end, indexing ? 6 : 4, &idx) < 0) return -1;
    char *name = NULL, *value = NULL;
    size_t nl = 0, vl = 0;
    if (idx) {
      const char *hn, *hv;
      size_t hvl;
      if (lookup(d, idx, &hn, &nl, &hv, &hvl) < 0 || !(name = malloc(nl + 1))) return -1;
      memcpy(name, hn, nl + 1);
    } else if (read_string(&p, end, &name, &nl) < 0) {
      return -1;
    }
    if (read_string(&p, end, &value, &vl) < 0) {
      free(name);
      return -1;
    }
    fn(ctx, name, nl, value, vl);
    int rc = indexing ? insert(d, name, nl, value, vl) : 0;
    free(name);
    free(value);
    if (rc < 0) return -1;
  }
  return 0;
}

static size_t put_int(uint8_t *out, size_t len, size_t cap, uint8_t first, int prefix_bits, size_t v) {
  size_t max = (1u << prefix_bits) - 1;
  if (len >= cap) return 0;
  if (v < max) {
    out[len++] = first | (uint8_t)v;
    return len;
  }
  out[len++] = first | (uint8_t)max;
  for (v -= max; v >= 128; v >>= 7) {
    if (len >= cap) return 0;
    out[len++] = (uint8_t)(0x80 | (v & 0x7f));
  }
  if (len >= cap) return 0;
  out[len++] = (uint8_t)v;
  return len;
}

static size_t put_string(uint8_t *out, size_t len, size_t cap, const char *s) {
  size_t n = strlen(s);
  if (!(len = put_int(out, len, cap, 0, 7, n)) || n > cap - len) return 0;
  memcpy(out + len, s, n);
  return len + n;
}

size_t hpack_put_literal(uint8_t *out, size_t len, size_t cap, int static_name_index, const char *name, const char *value) {
  // 0001xxxx: never indexed, so that no table anywhere keeps the job secret.
  if (!(len = put_int(out, len, cap, 0x10, 4, (size_t)static_name_index))) return 0;
  if (!static_name_index && !(len = put_string(out, len, cap, name))) return 0;
  return put_string(out, len, cap, value);
}
