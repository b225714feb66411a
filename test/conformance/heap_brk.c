/* Heap: malloc'd data and sbrk growth survive, and the break still grows after restore. */
#include "conformance.h"

#define N 2000

int main(void)
{
	cf_start();
	static uint64_t *blocks[N];
	uint64_t seed = cf_nonce;
	for (int i = 0; i < N; i++) {
		blocks[i] = malloc(64 + (i % 50) * 16);
		CHECK(blocks[i], "malloc failed");
		blocks[i][0] = seed + i;
		blocks[i][1] = ~(seed + i);
	}
	char *grown = sbrk(1 << 20); /* one MiB of break beyond malloc's */
	CHECK(grown != (void *)-1, "sbrk: %s", strerror(errno));
	for (int i = 0; i < (1 << 20); i += 4096) grown[i] = (char)(i >> 12);
	void *brk_before = sbrk(0);
	cf_wait();
	CHECK(sbrk(0) == brk_before, "break is %p, expected %p", sbrk(0), brk_before);
	for (int i = 0; i < (1 << 20); i += 4096) CHECK(grown[i] == (char)(i >> 12), "sbrk'd page %d lost its content", i >> 12);
	for (int i = 0; i < N; i++)
		CHECK(blocks[i][0] == seed + i && blocks[i][1] == ~(seed + i), "malloc block %d lost its content", i);
	char *more = sbrk(4 << 20);
	CHECK(more == brk_before, "sbrk after restore gave %p (%s), expected %p", more, strerror(errno), brk_before);
	memset(more, 0x5a, 4 << 20);
	CHECK(sbrk(0) == (char *)brk_before + (4 << 20), "break did not grow");
	for (int i = 0; i < 1000; i++) {
		char *p = malloc(100000);
		CHECK(p, "malloc after restore failed");
		memset(p, i, 100000);
	}
	return cf_pass();
}
