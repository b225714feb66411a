/* A signal sent to one thread (pthread_kill) while it blocks it stays pending for that
 * thread only, and that thread receives it after restore. */
#include "conformance.h"
#include <pthread.h>
#include <signal.h>

static volatile int thread_ready, thread_result = -1;
static char thread_err[160];

static void *thread_main(void *arg)
{
	(void)arg;
	thread_ready = 1;
	while (!cf_exists(cf_go)) cf_sleep_ms(20);
	sigset_t p, s;
	sigpending(&p);
	if (sigismember(&p, SIGUSR2) != 1) {
		snprintf(thread_err, sizeof thread_err, "SIGUSR2 is no longer pending for the target thread");
		thread_result = 1;
		return NULL;
	}
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	struct timespec zero = { 0, 0 };
	siginfo_t si;
	int r = sigtimedwait(&s, &si, &zero);
	if (r != SIGUSR2) snprintf(thread_err, sizeof thread_err, "the target thread could not take SIGUSR2: %s", strerror(errno));
	else if (si.si_pid != cf_pid) snprintf(thread_err, sizeof thread_err, "SIGUSR2 has si_pid %d, expected %d", (int)si.si_pid, (int)cf_pid);
	thread_result = thread_err[0] != 0;
	return NULL;
}

int main(void)
{
	cf_start();
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	OK(sigprocmask(SIG_BLOCK, &s, NULL)); /* inherited by the thread */
	pthread_t t;
	CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0, "pthread_create");
	while (!thread_ready) cf_sleep_ms(5);
	CHECK(pthread_kill(t, SIGUSR2) == 0, "pthread_kill");
	cf_wait();
	pthread_join(t, NULL);
	CHECK(thread_result == 0, "%s", thread_err);
	sigset_t p;
	OK(sigpending(&p));
	CHECK(!sigismember(&p, SIGUSR2), "SIGUSR2 became pending for the main thread or the process");
	return cf_pass();
}
