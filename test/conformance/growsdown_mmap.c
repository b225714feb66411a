/* A mapping of its own made with MAP_GROWSDOWN (as thread libraries of some runtimes
 * do) still grows downward when touched below its start after restore. */
#include "conformance.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

static sigjmp_buf env;
static void on_segv(int sig) { (void)sig; siglongjmp(env, 1); }

static int grows_below(char *start, long pg, char *maps, size_t cap, unsigned long *lo)
{
	cf_read_file("/proc/self/maps", maps, cap);
	char want[32];
	snprintf(want, sizeof want, "-%lx ", (unsigned long)(start + 16 * pg));
	char *l = strstr(maps, want);
	if (!l) return 0;
	while (l > maps && l[-1] != '\n') l--;
	*lo = strtoul(l, NULL, 16);
	return 1;
}

int main(void)
{
	cf_start();
	long pg = sysconf(_SC_PAGESIZE);
	/* Room below: 64 MiB reserved, then released, so nothing is mapped under the region. */
	char *hole = mmap(NULL, 64 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(hole != MAP_FAILED, "mmap: %s", strerror(errno));
	munmap(hole, 64 << 20);
	char *start = hole + (64 << 20) - 16 * pg;
	char *m = mmap(start, 16 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK(m == start, "mmap MAP_GROWSDOWN at %p: %s", (void *)start, strerror(errno));
	memset(m, 0x33, 16 * pg);
	m[-1] = 0x44; /* grows by one page before the checkpoint */
	CHECK(m[-1] == 0x44, "MAP_GROWSDOWN did not grow before the checkpoint");
	cf_wait();
	CHECK(m[0] == 0x33 && m[16 * pg - 1] == 0x33 && m[-1] == 0x44, "the MAP_GROWSDOWN region lost its content");
	static char maps[1 << 16];
	unsigned long lo = 0;
	CHECK(grows_below(m, pg, maps, sizeof maps, &lo), "the region ending at %p is gone from /proc/self/maps", (void *)(m + 16 * pg));
	volatile char *far = m - 8 * pg; /* 8 pages below: only a growsdown mapping takes that */
	signal(SIGSEGV, on_segv);
	if (sigsetjmp(env, 1)) cf_fail("touching %p, 8 pages below the region, faulted: it no longer grows down", (void *)far);
	*far = 0x55;
	unsigned long lo2 = 0;
	grows_below(m, pg, maps, sizeof maps, &lo2);
	CHECK(lo2 <= (unsigned long)far, "the region did not grow down to %p (starts at %#lx)", (void *)far, lo2);
	return cf_pass();
}
