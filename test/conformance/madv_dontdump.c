/* A region marked MADV_DONTDUMP (left out of core dumps) keeps the mark: smaps shows the
 * VmFlags "dd" on it, and not on the pages around it (same mapping, not marked). */
#include "conformance.h"
#include <sys/mman.h>

static char smaps[1 << 20];

static void check_marks(char *m, long pg, const char *when)
{
	cf_read_file("/proc/self/smaps", smaps, sizeof smaps);
	char below[256], mid[256], above[256];
	CHECK(cf_vmflags_at(smaps, m, below, sizeof below) && cf_vmflags_at(smaps, m + pg, mid, sizeof mid) &&
		      cf_vmflags_at(smaps, m + 3 * pg, above, sizeof above),
	      "%s: the region at %p is gone from smaps", when, (void *)m);
	CHECK(strstr(mid, " dd "), "%s: the MADV_DONTDUMP pages lost the mark (VmFlags:%s)", when, mid);
	CHECK(!strstr(below, " dd "), "%s: the page below the marked ones is marked too", when);
	CHECK(!strstr(above, " dd "), "%s: the page above the marked ones is marked too", when);
}

int main(void)
{
	cf_start();
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(m, 5, 4 * pg);
	OK(madvise(m + pg, 2 * pg, MADV_DONTDUMP));
	check_marks(m, pg, "before the checkpoint");
	cf_wait();
	for (long i = 0; i < 4 * pg; i += pg / 2) CHECK(m[i] == 5, "the region lost its content at +%#lx", i);
	check_marks(m, pg, "after restore");
	return cf_pass();
}
