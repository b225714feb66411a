/* A thread inside a long nanosleep (relative, CLOCK_MONOTONIC) across the checkpoint
 * resumes its sleep for the remaining time: it neither returns early with a strange
 * error nor sleeps again from the start. */
#include "conformance.h"
#include <pthread.h>

static volatile long long started, ended;
static volatile int result = -2;

static void *sleeper(void *arg)
{
	(void)arg;
	started = cf_now_ns(CLOCK_MONOTONIC);
	struct timespec d = { 6, 0 };
	result = clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL);
	ended = cf_now_ns(CLOCK_MONOTONIC);
	return NULL;
}

int main(void)
{
	cf_start();
	pthread_t t;
	CHECK(pthread_create(&t, NULL, sleeper, NULL) == 0, "pthread_create");
	while (!started) cf_sleep_ms(5);
	cf_wait();
	pthread_join(t, NULL);
	CHECK(result == 0, "clock_nanosleep returned %d (%s)", result, strerror(result));
	long long slept = (ended - started) / 1000000;
	CHECK(slept >= 6000, "the 6 s sleep ended after %lld ms of CLOCK_MONOTONIC", slept);
	CHECK(slept < 15000, "the 6 s sleep took %lld ms: restarted from the beginning each time?", slept);
	return cf_pass();
}
