/* A region made read-only with mprotect stays read-only (a write faults with SEGV_ACCERR)
 * and keeps its data. */
#include "conformance.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

static sigjmp_buf env;
static int fault_code;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	fault_code = si->si_code;
	siglongjmp(env, 1);
}

int main(void)
{
	cf_start();
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	for (size_t i = 0; i < 4 * pg / 8; i++) m[i] = cf_nonce * i;
	OK(mprotect(m, 4 * pg, PROT_READ));
	cf_wait();
	for (size_t i = 0; i < 4 * pg / 8; i++) CHECK(m[i] == cf_nonce * i, "read-only word %zu lost its content", i);
	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	OK(sigaction(SIGSEGV, &sa, NULL));
	if (sigsetjmp(env, 1) == 0) {
		((volatile uint64_t *)m)[pg / 8 * 2] = 1;
		cf_fail("writing the read-only region succeeded");
	}
	CHECK(fault_code == SEGV_ACCERR, "write fault si_code %d, expected SEGV_ACCERR", fault_code);
	return cf_pass();
}
