/* A region marked MADV_WIPEONFORK keeps the mark: a child forked after restore sees zeros
 * there, the parent its content; the pages around it (same mapping, not marked) are
 * inherited as they are. */
#include "conformance.h"
#include <sys/mman.h>
#include <sys/wait.h>

int main(void)
{
	cf_start();
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(m, 7, 4 * pg);
	OK(madvise(m + pg, 2 * pg, MADV_WIPEONFORK));
	cf_wait();
	for (long i = 0; i < 4 * pg; i += pg / 2) CHECK(m[i] == 7, "the region lost its content at +%#lx", i);
	pid_t c = OK(fork());
	if (c == 0) {
		if (m[0] != 7 || m[4 * pg - 1] != 7) _exit(2);
		if (m[pg] != 0 || m[3 * pg - 1] != 0) _exit(3);
		_exit(0);
	}
	int st;
	OK(waitpid(c, &st, 0));
	CHECK(WIFEXITED(st), "the child forked after restore died (status %#x)", st);
	CHECK(WEXITSTATUS(st) != 2, "a child forked after restore lost the pages next to the MADV_WIPEONFORK region");
	CHECK(WEXITSTATUS(st) != 3, "a child forked after restore inherited the content of the MADV_WIPEONFORK region");
	CHECK(WEXITSTATUS(st) == 0, "the child exited %d", WEXITSTATUS(st));
	CHECK(m[pg] == 7, "the parent's MADV_WIPEONFORK region was wiped");
	return cf_pass();
}
