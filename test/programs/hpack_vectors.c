/* HPACK decoding of cairn's native front (native/helpers/hpack.c) against RFC 7541's
 * examples C.4 (three requests, Huffman-coded, sharing a dynamic table), and the table's
 * eviction, size updates and malformed input. Prints each header block decoded as
 * "name: value" lines and "table N" (entries, size); exits 1 at the first mismatch. */
#include "../../native/helpers/hpack.c"

#include <stdio.h>

static char got[4096];
static size_t got_len;

static void collect(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
	(void)ctx;
	got_len += (size_t)snprintf(got + got_len, sizeof got - got_len, "%.*s: %.*s\n", (int)nlen, name, (int)vlen, value);
}

static int hexbytes(const char *hex, uint8_t *out)
{
	int n = 0;
	for (; hex[0] && hex[1]; hex += 2) {
		unsigned v;
		sscanf(hex, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static int check(struct hpack_decoder *d, const char *what, const char *hex, const char *want, size_t entries, size_t size)
{
	uint8_t buf[512];
	int n = hexbytes(hex, buf);
	got_len = 0;
	got[0] = 0;
	int rc = hpack_decode(d, buf, (size_t)n, collect, NULL);
	if (rc != 0 || strcmp(got, want) || d->count != entries || d->size != size) {
		printf("FAIL %s: rc %d, table %zu/%zu (want %zu/%zu)\n%s--- want\n%s", what, rc, d->count, d->size, entries, size, got, want);
		return 1;
	}
	printf("ok %s\n", what);
	return 0;
}

int main(void)
{
	struct hpack_decoder d;
	hpack_init(&d, 4096);
	if (check(&d, "C.4.1", "828684418cf1e3c2e5f23a6ba0ab90f4ff",
		  ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n", 1, 57) ||
	    check(&d, "C.4.2", "828684be5886a8eb10649cbf",
		  ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\ncache-control: no-cache\n", 2, 110) ||
	    check(&d, "C.4.3", "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
		  ":method: GET\n:scheme: https\n:path: /index.html\n:authority: www.example.com\ncustom-key: custom-value\n", 3, 164))
		return 1;
	/* A size update to 110 evicts the oldest entry (:authority), leaving custom-key at 62
	 * and cache-control at 63; a literal with indexing (raw strings, 38 bytes) then evicts
	 * cache-control, and custom-key moves to 63. */
	if (check(&d, "size update", "3f4fbe", "custom-key: custom-value\n", 2, 107) ||
	    check(&d, "eviction", "400361626303646566bf", "abc: def\ncustom-key: custom-value\n", 2, 92))
		return 1;
	/* Malformed: an index past the tables, a string longer than the block, bad padding. */
	uint8_t bad1[] = {0xff, 0x10}, bad2[] = {0x40, 0x05, 'a'}, bad3[] = {0x40, 0x81, 0x00, 0x00};
	if (hpack_decode(&d, bad1, sizeof bad1, collect, NULL) != -1 || hpack_decode(&d, bad2, sizeof bad2, collect, NULL) != -1 ||
	    hpack_decode(&d, bad3, sizeof bad3, collect, NULL) != -1) {
		printf("FAIL malformed blocks accepted\n");
		return 1;
	}
	printf("ok malformed\n");
	hpack_free(&d);
	return 0;
}
