/* A PROT_NONE guard page between two data pages still faults after restore (SIGSEGV at
 * its address, caught and left with siglongjmp); its neighbours keep their data. */
#include "conformance.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

static sigjmp_buf env;
static void *fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	fault_addr = si->si_addr;
	siglongjmp(env, 1);
}

int main(void)
{
	cf_start();
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(m, 0x11, pg);
	memset(m + 2 * pg, 0x22, pg);
	OK(mprotect(m + pg, pg, PROT_NONE));
	cf_wait();
	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	OK(sigaction(SIGSEGV, &sa, NULL));
	CHECK(m[0] == 0x11 && m[pg - 1] == 0x11 && m[2 * pg] == 0x22 && m[3 * pg - 1] == 0x22, "pages around the guard lost their content");
	m[0] = 1, m[2 * pg] = 2;
	volatile char *guard = m + pg + 100;
	if (sigsetjmp(env, 1) == 0) {
		char c = *guard;
		cf_fail("reading the guard page gave %d instead of SIGSEGV", c);
	}
	CHECK(fault_addr == (void *)guard, "SIGSEGV at %p, expected %p", fault_addr, (void *)guard);
	return cf_pass();
}
