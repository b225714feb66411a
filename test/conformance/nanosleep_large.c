/* A thread inside a long nanosleep in a process large enough for its memory to be copied
 * before the freeze: the short stop that arms its written-page tracking leaves the sleep in
 * the kernel's restart_syscall, and the checkpoint must still know which call that is, so
 * that after a restart the sleep goes on instead of ending early with EINTR. */
#include "conformance.h"
#include <pthread.h>
#include <sys/mman.h>

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
	const size_t bytes = 96u << 20;
	unsigned char *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	for (size_t i = 0; i < bytes; i += 4096) m[i] = (unsigned char)(i >> 12);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, sleeper, NULL) == 0, "pthread_create");
	while (!started) cf_sleep_ms(5);
	cf_wait();
	pthread_join(t, NULL);
	CHECK(result == 0, "clock_nanosleep returned %d (%s)", result, strerror(result));
	long long slept = (ended - started) / 1000000;
	CHECK(slept >= 6000, "the 6 s sleep ended after %lld ms of CLOCK_MONOTONIC", slept);
	for (size_t i = 0; i < bytes; i += 4096) CHECK(m[i] == (unsigned char)(i >> 12), "memory changed at +%zu", i);
	return cf_pass();
}
