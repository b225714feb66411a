/* Three queued real-time signals (sigqueue) with their values stay queued across the
 * checkpoint, and come out in order with their siginfo (value, code, sender). */
#include "conformance.h"
#include <signal.h>

int main(void)
{
	cf_start();
	int sig = SIGRTMIN + 1;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	OK(sigprocmask(SIG_BLOCK, &s, NULL));
	for (int i = 0; i < 3; i++) OK(sigqueue(getpid(), sig, (union sigval){ .sival_int = 1000 + i }));
	cf_wait();
	struct timespec zero = { 0, 0 };
	for (int i = 0; i < 3; i++) {
		siginfo_t si;
		int r = sigtimedwait(&s, &si, &zero);
		CHECK(r == sig, "queued signal %d of 3 is missing (%s)", i + 1, strerror(errno));
		CHECK(si.si_value.sival_int == 1000 + i, "queued signal %d has value %d, expected %d", i + 1, si.si_value.sival_int, 1000 + i);
		CHECK(si.si_code == SI_QUEUE, "queued signal %d has si_code %d, expected SI_QUEUE", i + 1, si.si_code);
		CHECK(si.si_pid == getpid(), "queued signal %d has si_pid %d, expected %d", i + 1, (int)si.si_pid, (int)getpid());
	}
	siginfo_t si;
	CHECK(sigtimedwait(&s, &si, &zero) == -1 && errno == EAGAIN, "a fourth signal was queued");
	return cf_pass();
}
