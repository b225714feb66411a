/* Per-thread signal masks: the main thread and a second thread each keep their own
 * blocked set. */
#include "conformance.h"
#include <pthread.h>
#include <signal.h>

static sigset_t main_mask, thread_mask;
static volatile int thread_ok = -1;
static char thread_err[200];

static int same(const sigset_t *a, const sigset_t *b, int *which)
{
	for (int s = 1; s < 65; s++)
		if (s != SIGKILL && s != SIGSTOP && sigismember(a, s) != sigismember(b, s)) return *which = s, 0;
	return 1;
}

static void *thread_main(void *arg)
{
	(void)arg;
	OK(pthread_sigmask(SIG_SETMASK, &thread_mask, NULL));
	while (!cf_exists(cf_go)) cf_sleep_ms(20);
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	int s;
	if (!same(&cur, &thread_mask, &s)) snprintf(thread_err, sizeof thread_err, "second thread: signal %d %s", s, sigismember(&cur, s) ? "blocked, should not be" : "not blocked");
	thread_ok = same(&cur, &thread_mask, &s);
	return NULL;
}

int main(void)
{
	cf_start();
	sigemptyset(&main_mask);
	sigaddset(&main_mask, SIGUSR1);
	sigaddset(&main_mask, SIGRTMIN + 3);
	sigemptyset(&thread_mask);
	sigaddset(&thread_mask, SIGUSR2);
	sigaddset(&thread_mask, SIGHUP);
	sigaddset(&thread_mask, SIGRTMAX);
	OK(pthread_sigmask(SIG_SETMASK, &main_mask, NULL));
	pthread_t t;
	CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0, "pthread_create");
	cf_wait();
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	int s;
	CHECK(same(&cur, &main_mask, &s), "main thread: signal %d %s", s, sigismember(&cur, s) ? "blocked, should not be" : "not blocked");
	pthread_join(t, NULL);
	CHECK(thread_ok == 1, "%s", thread_err);
	return cf_pass();
}
