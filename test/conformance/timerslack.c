/* The timer slack (PR_SET_TIMERSLACK) is kept per thread: 2 ms on the main thread, 3 ms on
 * a second one, the one it inherited (50 us by default) on a third. */
#include "conformance.h"
#include <pthread.h>
#include <sys/prctl.h>

static volatile int set;
static char errs[3][120];

static void check(int i, long want)
{
	long v = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if (v != want) snprintf(errs[i], sizeof errs[i], "thread %d has a timer slack of %ld ns, expected %ld", i, v, want);
}

static void *thread_main(void *arg)
{
	int i = (int)(intptr_t)arg;
	long want = i == 1 ? 3000000 : prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if (i == 1 && prctl(PR_SET_TIMERSLACK, (unsigned long)want, 0, 0, 0) < 0) cf_fail("PR_SET_TIMERSLACK: %s", strerror(errno));
	__atomic_add_fetch(&set, 1, __ATOMIC_SEQ_CST);
	while (!cf_exists(cf_go)) cf_sleep_ms(20);
	check(i, want);
	return NULL;
}

int main(void)
{
	cf_start();
	pthread_t t[3];
	/* The threads first: a thread starts with its creator's slack. */
	for (int i = 1; i <= 2; i++) CHECK(pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)i) == 0, "pthread_create");
	while (__atomic_load_n(&set, __ATOMIC_SEQ_CST) < 2) cf_sleep_ms(5);
	OK(prctl(PR_SET_TIMERSLACK, 2000000UL, 0, 0, 0));
	cf_wait();
	check(0, 2000000);
	for (int i = 1; i <= 2; i++) pthread_join(t[i], NULL);
	for (int i = 0; i < 3; i++) CHECK(!errs[i][0], "%s", errs[i]);
	return cf_pass();
}
