/* A thread blocked in a futex wait (pthread_cond_wait) across the checkpoint is woken
 * by a signal of the condition variable after restore. */
#include "conformance.h"
#include <pthread.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int waiting, flag, woke;

static void *waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	waiting = 1;
	while (!flag) pthread_cond_wait(&cv, &mu);
	woke = 1;
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(void)
{
	cf_start();
	pthread_t t;
	CHECK(pthread_create(&t, NULL, waiter, NULL) == 0, "pthread_create");
	for (;;) {
		pthread_mutex_lock(&mu);
		int w = waiting;
		pthread_mutex_unlock(&mu);
		if (w) break;
		cf_sleep_ms(5);
	}
	cf_sleep_ms(50); /* let it sleep in the futex */
	cf_wait();
	pthread_mutex_lock(&mu);
	flag = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < 150; i++) {
		pthread_mutex_lock(&mu);
		int w = woke;
		pthread_mutex_unlock(&mu);
		if (w) break;
		cf_sleep_ms(20);
	}
	CHECK(woke, "the waiting thread was not woken within 3 s");
	pthread_join(t, NULL);
	return cf_pass();
}
