/* A region marked MADV_DONTFORK keeps the mark: a child forked after restore does not
 * inherit it (the child cannot touch it), and still inherits the pages around it that were
 * not marked (the mark covers only the middle of one mapping). */
#include "conformance.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

int main(void)
{
	cf_start();
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(m, 3, 4 * pg);
	OK(madvise(m + pg, 2 * pg, MADV_DONTFORK));
	cf_wait();
	CHECK(m[0] == 3 && m[pg] == 3 && m[4 * pg - 1] == 3, "the region lost its content");
	pid_t c = OK(fork());
	if (c == 0) {
		signal(SIGSEGV, SIG_DFL);
		if (m[0] != 3 || m[3 * pg] != 3) _exit(2); /* not marked: inherited */
		volatile char x = m[pg]; /* must fault: not mapped in the child */
		(void)x;
		_exit(0);
	}
	int st;
	OK(waitpid(c, &st, 0));
	CHECK(!WIFEXITED(st) || WEXITSTATUS(st) != 2, "a child forked after restore lost the pages next to the MADV_DONTFORK region");
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "a child forked after restore inherited the MADV_DONTFORK region");
	return cf_pass();
}
