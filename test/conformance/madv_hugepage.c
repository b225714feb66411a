/* Transparent huge page advice is kept: pages marked MADV_HUGEPAGE show the VmFlags "hg"
 * after restore, pages marked MADV_NOHUGEPAGE "nh", and the pages around them neither. A job
 * that asked for huge pages must not run on 4 KiB pages after a restart (nor the reverse). */
#include "conformance.h"
#include <sys/mman.h>

static char smaps[1 << 20];

static void check_marks(char *m, long pg, const char *when)
{
	cf_read_file("/proc/self/smaps", smaps, sizeof smaps);
	char plain[256], huge[256], nohuge[256], above[256];
	CHECK(cf_vmflags_at(smaps, m, plain, sizeof plain) && cf_vmflags_at(smaps, m + pg, huge, sizeof huge) &&
		      cf_vmflags_at(smaps, m + 3 * pg, nohuge, sizeof nohuge) && cf_vmflags_at(smaps, m + 4 * pg, above, sizeof above),
	      "%s: the region at %p is gone from smaps", when, (void *)m);
	CHECK(strstr(huge, " hg ") && !strstr(huge, " nh "), "%s: the MADV_HUGEPAGE pages lost the mark (VmFlags:%s)", when, huge);
	CHECK(strstr(nohuge, " nh ") && !strstr(nohuge, " hg "), "%s: the MADV_NOHUGEPAGE page lost the mark (VmFlags:%s)", when, nohuge);
	CHECK(!strstr(plain, " hg ") && !strstr(plain, " nh "), "%s: the first page is marked too (VmFlags:%s)", when, plain);
	CHECK(!strstr(above, " hg ") && !strstr(above, " nh "), "%s: the last page is marked too (VmFlags:%s)", when, above);
}

int main(void)
{
	cf_start();
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 5 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(m, 9, 5 * pg);
	OK(madvise(m + pg, 2 * pg, MADV_HUGEPAGE));
	OK(madvise(m + 3 * pg, pg, MADV_NOHUGEPAGE));
	check_marks(m, pg, "before the checkpoint");
	cf_wait();
	for (long i = 0; i < 5 * pg; i += pg / 2) CHECK(m[i] == 9, "the region lost its content at +%#lx", i);
	check_marks(m, pg, "after restore");
	return cf_pass();
}
