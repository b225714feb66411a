/* flags: -lrt */
/* A POSIX timer (timer_create, CLOCK_MONOTONIC, SIGEV_SIGNAL with a value), periodic
 * 100 ms: the same timer id still exists with its interval and keeps firing with its
 * value and SI_TIMER. */
#include "conformance.h"
#include <signal.h>

static volatile sig_atomic_t ticks, bad_value, bad_code;
static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	ticks++;
	if (si->si_value.sival_int != 77) bad_value = si->si_value.sival_int ? si->si_value.sival_int : -1;
	if (si->si_code != SI_TIMER) bad_code = si->si_code ? si->si_code : -1;
}

int main(void)
{
	cf_start();
	struct sigaction sa = { 0 };
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	OK(sigaction(SIGRTMIN + 2, &sa, NULL));
	struct sigevent ev = { 0 };
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGRTMIN + 2;
	ev.sigev_value.sival_int = 77;
	timer_t id;
	OK(timer_create(CLOCK_MONOTONIC, &ev, &id));
	struct itimerspec its = { { 0, 100000000 }, { 0, 100000000 } };
	OK(timer_settime(id, 0, &its, NULL));
	cf_wait();
	struct itimerspec now;
	CHECK(timer_gettime(id, &now) == 0, "timer_gettime on the timer: %s", strerror(errno));
	CHECK(now.it_interval.tv_sec == 0 && now.it_interval.tv_nsec == 100000000, "timer interval is %ld.%09ld s, expected 0.1 s", (long)now.it_interval.tv_sec, now.it_interval.tv_nsec);
	int before = ticks;
	cf_sleep_ms(1000);
	CHECK(ticks - before >= 5, "the timer fired %d times in 1 s, expected about 10", (int)(ticks - before));
	CHECK(!bad_value, "timer signal carried value %d, expected 77", (int)bad_value);
	CHECK(!bad_code, "timer signal had si_code %d, expected SI_TIMER", (int)bad_code);
	return cf_pass();
}
