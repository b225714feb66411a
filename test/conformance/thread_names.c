/* Per-thread names (pthread_setname_np) of the main thread and two others are kept. */
#include "conformance.h"
#include <pthread.h>

static volatile int named;
static char errs[3][120];

static void check(int i, const char *want)
{
	char now[16] = { 0 };
	pthread_getname_np(pthread_self(), now, sizeof now);
	if (strcmp(now, want)) snprintf(errs[i], sizeof errs[i], "thread %d is named '%s', expected '%s'", i, now, want);
}

static void *thread_main(void *arg)
{
	int i = (int)(intptr_t)arg;
	char name[16];
	snprintf(name, sizeof name, "cf-worker-%d", i);
	pthread_setname_np(pthread_self(), name);
	__atomic_add_fetch(&named, 1, __ATOMIC_SEQ_CST);
	while (!cf_exists(cf_go)) cf_sleep_ms(20);
	check(i, name);
	return NULL;
}

int main(void)
{
	cf_start();
	pthread_setname_np(pthread_self(), "cf-main");
	pthread_t t[3];
	for (int i = 1; i <= 2; i++) CHECK(pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)i) == 0, "pthread_create");
	while (__atomic_load_n(&named, __ATOMIC_SEQ_CST) < 2) cf_sleep_ms(5);
	cf_wait();
	check(0, "cf-main");
	for (int i = 1; i <= 2; i++) pthread_join(t[i], NULL);
	for (int i = 0; i < 3; i++) CHECK(!errs[i][0], "%s", errs[i]);
	return cf_pass();
}
