/* The robust futex list of a thread: a thread holding a robust mutex across the
 * checkpoint dies after restore without unlocking; the kernel (walking the restored
 * list) marks the mutex, and the next locker gets EOWNERDEAD instead of waiting forever. */
#include "conformance.h"
#include <pthread.h>

static pthread_mutex_t mutex;
static volatile int locked;

static void *holder(void *arg)
{
	(void)arg;
	CHECK(pthread_mutex_lock(&mutex) == 0, "holder: lock failed");
	__atomic_store_n(&locked, 1, __ATOMIC_RELEASE);
	while (!cf_exists(cf_go)) cf_sleep_ms(20);
	return NULL; /* exits holding the mutex */
}

int main(void)
{
	cf_start();
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&mutex, &a);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, holder, NULL) == 0, "pthread_create");
	while (!__atomic_load_n(&locked, __ATOMIC_ACQUIRE)) cf_sleep_ms(5);
	cf_wait();
	pthread_join(t, NULL);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 3;
	int r = pthread_mutex_timedlock(&mutex, &until);
	CHECK(r == EOWNERDEAD, "locking the dead owner's mutex gave %s, expected EOWNERDEAD", r ? strerror(r) : "success");
	CHECK(pthread_mutex_consistent(&mutex) == 0, "pthread_mutex_consistent failed");
	CHECK(pthread_mutex_unlock(&mutex) == 0, "unlock failed");
	return cf_pass();
}
