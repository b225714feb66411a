/* flags: -lrt */
/* A POSIX timer with SIGEV_THREAD (glibc runs the callback on a helper thread woken by
 * a SIGEV_THREAD_ID signal), periodic 100 ms: the callback keeps running after restore. */
#include "conformance.h"
#include <signal.h>

static volatile int calls, bad;

static void callback(union sigval v)
{
	if (v.sival_int != 99) bad = v.sival_int ? v.sival_int : -1;
	__atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
}

int main(void)
{
	cf_start();
	struct sigevent ev = { 0 };
	ev.sigev_notify = SIGEV_THREAD;
	ev.sigev_notify_function = callback;
	ev.sigev_value.sival_int = 99;
	timer_t id;
	OK(timer_create(CLOCK_MONOTONIC, &ev, &id));
	struct itimerspec its = { { 0, 100000000 }, { 0, 100000000 } };
	OK(timer_settime(id, 0, &its, NULL));
	while (__atomic_load_n(&calls, __ATOMIC_SEQ_CST) < 2) cf_sleep_ms(10);
	cf_wait();
	int before = __atomic_load_n(&calls, __ATOMIC_SEQ_CST);
	cf_sleep_ms(1000);
	int after = __atomic_load_n(&calls, __ATOMIC_SEQ_CST);
	CHECK(after - before >= 5, "the SIGEV_THREAD callback ran %d times in 1 s, expected about 10", after - before);
	CHECK(!bad, "the callback got value %d, expected 99", (int)bad);
	return cf_pass();
}
