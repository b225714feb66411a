/* Threads being created and exiting all the time, checkpoint or not: every round of
 * create + join still works after restore, and no thread is lost or duplicated. */
#include "conformance.h"
#include <pthread.h>

static volatile int stop;
static uint64_t rounds, sum;

static void *worker(void *arg) { return (void *)((uintptr_t)arg * 3 + 1); }

static void *spawner(void *arg)
{
	(void)arg;
	while (!stop) {
		pthread_t t[4];
		for (uintptr_t i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0, "pthread_create in round %llu: %s", (unsigned long long)rounds, strerror(errno));
		for (int i = 0; i < 4; i++) {
			void *r;
			CHECK(pthread_join(t[i], &r) == 0, "pthread_join");
			sum += (uintptr_t)r;
		}
		__atomic_add_fetch(&rounds, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

int main(void)
{
	cf_start();
	pthread_t s;
	CHECK(pthread_create(&s, NULL, spawner, NULL) == 0, "pthread_create");
	while (__atomic_load_n(&rounds, __ATOMIC_SEQ_CST) < 10) cf_sleep_ms(1);
	cf_wait();
	uint64_t at_go = __atomic_load_n(&rounds, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 200 && __atomic_load_n(&rounds, __ATOMIC_SEQ_CST) < at_go + 100; i++) cf_sleep_ms(10);
	stop = 1;
	pthread_join(s, NULL);
	CHECK(rounds >= at_go + 100, "thread churn stalled after restore (%llu rounds)", (unsigned long long)(rounds - at_go));
	CHECK(sum == rounds * (1 + 4 + 7 + 10), "thread results were lost: sum %llu over %llu rounds", (unsigned long long)sum, (unsigned long long)rounds);
	char status[4096];
	cf_read_file("/proc/self/status", status, sizeof status);
	char *th = strstr(status, "Threads:");
	CHECK(th && atoi(th + 8) == 1, "%.12s after joining every thread, expected 1", th ? th : "no Threads: line");
	return cf_pass();
}
