/* A huge anonymous reservation (8 GiB, MAP_NORESERVE) with a few touched pages: the
 * touched pages keep their data, the rest reads as zeros, the mapping keeps its size. */
#include "conformance.h"
#include <sys/mman.h>

#define SIZE (8ULL << 30)

int main(void)
{
	cf_start();
	char *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(m != MAP_FAILED, "mmap 8 GiB: %s", strerror(errno));
	static const uint64_t offs[] = { 0, 4096, 1ULL << 30, (4ULL << 30) + 12345, SIZE - 8 };
	for (int i = 0; i < 5; i++) *(uint64_t *)(m + (offs[i] & ~7ULL)) = cf_nonce + i;
	cf_wait();
	for (int i = 0; i < 5; i++)
		CHECK(*(uint64_t *)(m + (offs[i] & ~7ULL)) == cf_nonce + i, "touched page at offset %#llx lost its content", (unsigned long long)offs[i]);
	static const uint64_t zeros[] = { 8192, 3ULL << 30, SIZE - 8192 };
	for (int i = 0; i < 3; i++) CHECK(*(uint64_t *)(m + zeros[i]) == 0, "untouched page at %#llx is not zero", (unsigned long long)zeros[i]);
	m[(6ULL << 30)] = 1; /* still writable anywhere */
	char maps[1 << 16];
	cf_read_file("/proc/self/maps", maps, sizeof maps);
	char want[64];
	snprintf(want, sizeof want, "%lx-%lx ", (unsigned long)m, (unsigned long)(m + SIZE));
	CHECK(strstr(maps, want), "no mapping %sin /proc/self/maps", want);
	return cf_pass();
}
