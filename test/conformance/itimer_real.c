/* setitimer(ITIMER_REAL), 200 ms periodic: still armed with its interval after restore,
 * and still firing SIGALRM. */
#include "conformance.h"
#include <signal.h>
#include <sys/time.h>

static volatile sig_atomic_t ticks;
static void handler(int sig) { (void)sig; ticks++; }

int main(void)
{
	cf_start();
	struct sigaction sa = { 0 };
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	OK(sigaction(SIGALRM, &sa, NULL));
	struct itimerval it = { { 0, 200000 }, { 0, 200000 } };
	OK(setitimer(ITIMER_REAL, &it, NULL));
	cf_wait();
	struct itimerval now;
	OK(getitimer(ITIMER_REAL, &now));
	CHECK(now.it_interval.tv_sec == 0 && now.it_interval.tv_usec == 200000, "ITIMER_REAL interval is %ld.%06ld s, expected 0.2 s", (long)now.it_interval.tv_sec, (long)now.it_interval.tv_usec);
	CHECK(now.it_value.tv_sec || now.it_value.tv_usec, "ITIMER_REAL is disarmed");
	int before = ticks;
	cf_sleep_ms(1000);
	CHECK(ticks - before >= 3, "ITIMER_REAL fired %d times in 1 s, expected about 5", (int)(ticks - before));
	return cf_pass();
}
