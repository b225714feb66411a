/* A standard signal raised while blocked stays pending across the checkpoint, and is
 * delivered exactly once when unblocked. */
#include "conformance.h"
#include <signal.h>

static volatile sig_atomic_t hits;
static void handler(int sig) { (void)sig; hits++; }

int main(void)
{
	cf_start();
	signal(SIGUSR1, handler);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	OK(sigprocmask(SIG_BLOCK, &s, NULL));
	OK(raise(SIGUSR1));
	cf_wait();
	sigset_t p;
	OK(sigpending(&p));
	CHECK(sigismember(&p, SIGUSR1) == 1, "SIGUSR1 is no longer pending");
	CHECK(hits == 0, "SIGUSR1 was delivered while blocked");
	OK(sigprocmask(SIG_UNBLOCK, &s, NULL));
	CHECK(hits == 1, "SIGUSR1 delivered %d times after unblocking, expected once", (int)hits);
	return cf_pass();
}
