/* A SA_SIGINFO|SA_RESTART handler with an sa_mask is still installed as it was, and a
 * queued signal reaches it with its siginfo value. */
#include "conformance.h"
#include <signal.h>

static volatile sig_atomic_t got_value = -1, got_code, mask_had_usr2;

static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	got_value = si->si_value.sival_int;
	got_code = si->si_code;
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	mask_had_usr2 = sigismember(&cur, SIGUSR2);
}

int main(void)
{
	cf_start();
	struct sigaction sa = { 0 }, old;
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	OK(sigaction(SIGUSR1, &sa, NULL));
	cf_wait();
	OK(sigaction(SIGUSR1, NULL, &old));
	CHECK(old.sa_sigaction == handler, "SIGUSR1 handler is %p, expected %p", (void *)old.sa_sigaction, (void *)handler);
	CHECK((old.sa_flags & (SA_SIGINFO | SA_RESTART)) == (SA_SIGINFO | SA_RESTART), "SIGUSR1 flags are %#x, SA_SIGINFO|SA_RESTART missing", old.sa_flags);
	CHECK(sigismember(&old.sa_mask, SIGUSR2) == 1, "SIGUSR2 is no longer in the handler's sa_mask");
	union sigval v = { .sival_int = 4242 };
	OK(sigqueue(getpid(), SIGUSR1, v));
	CHECK(got_value == 4242, "handler saw si_value %d, expected 4242", (int)got_value);
	CHECK(got_code == SI_QUEUE, "handler saw si_code %d, expected SI_QUEUE", (int)got_code);
	CHECK(mask_had_usr2 == 1, "SIGUSR2 was not blocked while the handler ran");
	return cf_pass();
}
