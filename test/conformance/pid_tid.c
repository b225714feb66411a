/* getpid, getppid and the thread ids (main and a second thread) are the same after
 * restore. */
#include "conformance.h"
#include <pthread.h>

static pid_t tid_before, tid_after;

static void *thread_main(void *arg)
{
	(void)arg;
	tid_before = cf_gettid();
	while (!cf_exists(cf_go)) cf_sleep_ms(20);
	tid_after = cf_gettid();
	return NULL;
}

int main(void)
{
	cf_start();
	pid_t pid = getpid(), ppid = getppid(), tid = cf_gettid();
	pthread_t t;
	CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0, "pthread_create");
	while (!__atomic_load_n(&tid_before, __ATOMIC_ACQUIRE)) cf_sleep_ms(5);
	cf_wait();
	pthread_join(t, NULL);
	CHECK(getpid() == pid, "getpid() %d, expected %d", (int)getpid(), (int)pid);
	CHECK(cf_gettid() == tid, "main gettid() %d, expected %d", (int)cf_gettid(), (int)tid);
	CHECK(getppid() == ppid, "getppid() %d, expected %d", (int)getppid(), (int)ppid);
	CHECK(tid_after == tid_before, "second thread gettid() %d, expected %d", (int)tid_after, (int)tid_before);
	CHECK(tid_before != tid, "thread ids not distinct");
	return cf_pass();
}
