/* sigaltstack + SA_ONSTACK: the alternate stack is still registered, and the handler
 * runs on it. */
#include "conformance.h"
#include <signal.h>

static char *alt;
static size_t alt_size = 64 * 1024;
static volatile uintptr_t handler_sp;
static volatile int handler_onstack;

static void handler(int sig)
{
	(void)sig;
	volatile char here;
	handler_sp = (uintptr_t)&here;
	stack_t cur;
	sigaltstack(NULL, &cur);
	handler_onstack = (cur.ss_flags & SS_ONSTACK) != 0;
}

int main(void)
{
	cf_start();
	alt = malloc(alt_size);
	stack_t ss = { .ss_sp = alt, .ss_size = alt_size, .ss_flags = 0 };
	OK(sigaltstack(&ss, NULL));
	struct sigaction sa = { 0 };
	sa.sa_handler = handler;
	sa.sa_flags = SA_ONSTACK;
	OK(sigaction(SIGUSR1, &sa, NULL));
	cf_wait();
	stack_t cur;
	OK(sigaltstack(NULL, &cur));
	CHECK(cur.ss_sp == alt && cur.ss_size == alt_size, "alternate stack is %p+%zu, expected %p+%zu", cur.ss_sp, cur.ss_size, (void *)alt, alt_size);
	CHECK(!(cur.ss_flags & SS_DISABLE), "alternate stack is disabled");
	OK(raise(SIGUSR1));
	CHECK(handler_sp >= (uintptr_t)alt && handler_sp < (uintptr_t)alt + alt_size, "handler ran at sp %#lx, not on the alternate stack %p", (unsigned long)handler_sp, (void *)alt);
	CHECK(handler_onstack, "sigaltstack in the handler does not report SS_ONSTACK");
	return cf_pass();
}
