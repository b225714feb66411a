/* Touched pages that hold only zeros next to pages with data: the zero pages read as
 * zeros, the data pages keep their data, all stay writable. */
#include "conformance.h"
#include <sys/mman.h>

#define PAGES 256

int main(void)
{
	cf_start();
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, PAGES * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	for (int p = 0; p < PAGES; p++) {
		m[p * pg] = 1;
		if (p % 8) memset(m + p * pg, 0, pg); /* touched, then zero again */
		else memset(m + p * pg, (char)(p / 8 + 1), pg);
	}
	cf_wait();
	for (int p = 0; p < PAGES; p++)
		for (long i = 0; i < pg; i += 64) {
			char want = p % 8 ? 0 : (char)(p / 8 + 1);
			CHECK(m[p * pg + i] == want, "page %d byte %ld is %#x, expected %#x", p, i, m[p * pg + i] & 0xff, want & 0xff);
		}
	memset(m, 7, PAGES * pg);
	return cf_pass();
}
