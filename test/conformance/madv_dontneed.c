/* Pages dropped with MADV_DONTNEED before the checkpoint read as zeros after restore;
 * the others keep their data. */
#include "conformance.h"
#include <sys/mman.h>

#define PAGES 64

int main(void)
{
	cf_start();
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t *m = mmap(NULL, PAGES * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	size_t words = PAGES * pg / 8, per = pg / 8;
	for (size_t i = 0; i < words; i++) m[i] = cf_nonce + i;
	OK(madvise((char *)m + 16 * pg, 16 * pg, MADV_DONTNEED));
	cf_wait();
	for (size_t i = 0; i < words; i++) {
		size_t p = i / per;
		uint64_t want = (p >= 16 && p < 32) ? 0 : cf_nonce + i;
		CHECK(m[i] == want, "page %zu word %zu is %#llx, expected %#llx", p, i % per, (unsigned long long)m[i], (unsigned long long)want);
	}
	return cf_pass();
}
