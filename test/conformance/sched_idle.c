/* The scheduling policy, per thread, as any user may choose it: SCHED_IDLE on the main
 * thread, SCHED_BATCH with SCHED_RESET_ON_FORK on a second one, SCHED_OTHER on a third. */
#include "conformance.h"
#include <pthread.h>
#include <sched.h>

static volatile int set;
static char errs[3][120];

static void check(int i, int want)
{
	int p = sched_getscheduler(0); /* 0: the calling thread */
	if (p != want) snprintf(errs[i], sizeof errs[i], "thread %d has scheduling policy %#x, expected %#x", i, p, want);
}

static void *thread_main(void *arg)
{
	int want = (int)(intptr_t)arg;
	struct sched_param sp = { 0 };
	if (sched_setscheduler(0, want, &sp) < 0) cf_fail("sched_setscheduler(%#x): %s", want, strerror(errno));
	__atomic_add_fetch(&set, 1, __ATOMIC_SEQ_CST);
	while (!cf_exists(cf_go)) cf_sleep_ms(20);
	check(want == SCHED_OTHER ? 2 : 1, want);
	return NULL;
}

int main(void)
{
	cf_start();
	pthread_t t[2];
	/* The threads first: they would inherit SCHED_IDLE from the main thread. */
	CHECK(pthread_create(&t[0], NULL, thread_main, (void *)(intptr_t)(SCHED_BATCH | SCHED_RESET_ON_FORK)) == 0, "pthread_create");
	CHECK(pthread_create(&t[1], NULL, thread_main, (void *)(intptr_t)SCHED_OTHER) == 0, "pthread_create");
	struct sched_param sp = { 0 };
	OK(sched_setscheduler(0, SCHED_IDLE, &sp));
	while (__atomic_load_n(&set, __ATOMIC_SEQ_CST) < 2) cf_sleep_ms(5);
	cf_wait();
	check(0, SCHED_IDLE);
	for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
	for (int i = 0; i < 3; i++) CHECK(!errs[i][0], "%s", errs[i]);
	return cf_pass();
}
