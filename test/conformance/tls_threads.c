/* Thread-local storage (__thread) in 4 threads: each keeps its own values at the same
 * addresses, and pthread_self() is unchanged. */
#include "conformance.h"
#include <pthread.h>

#define T 4
static __thread uint64_t tls_value;
static __thread char tls_name[32] = "initial";
static uint64_t *addr[T + 1];
static pthread_t selves[T + 1];
static char errors[T + 1][160];

static void check(int i)
{
	if (&tls_value != addr[i]) snprintf(errors[i], sizeof errors[i], "thread %d: TLS variable moved from %p to %p", i, (void *)addr[i], (void *)&tls_value);
	else if (tls_value != cf_nonce * (i + 1)) snprintf(errors[i], sizeof errors[i], "thread %d: TLS value %#llx, expected %#llx", i, (unsigned long long)tls_value, (unsigned long long)(cf_nonce * (i + 1)));
	else {
		char want[32];
		snprintf(want, sizeof want, "thread-%d", i);
		if (strcmp(tls_name, want)) snprintf(errors[i], sizeof errors[i], "thread %d: TLS string '%s', expected '%s'", i, tls_name, want);
		else if (!pthread_equal(pthread_self(), selves[i])) snprintf(errors[i], sizeof errors[i], "thread %d: pthread_self changed", i);
	}
}

static void setup(int i)
{
	tls_value = cf_nonce * (i + 1);
	snprintf(tls_name, sizeof tls_name, "thread-%d", i);
	addr[i] = &tls_value;
	selves[i] = pthread_self();
}

static void *thread_main(void *arg)
{
	int i = (int)(intptr_t)arg;
	setup(i);
	while (!cf_exists(cf_go)) cf_sleep_ms(20);
	check(i);
	return NULL;
}

int main(void)
{
	cf_start();
	setup(0);
	pthread_t t[T + 1];
	for (int i = 1; i <= T; i++) CHECK(pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)i) == 0, "pthread_create");
	while (1) { /* every thread has set its TLS before the checkpoint */
		int n = 0;
		for (int i = 1; i <= T; i++) n += __atomic_load_n(&addr[i], __ATOMIC_ACQUIRE) != NULL;
		if (n == T) break;
		cf_sleep_ms(5);
	}
	cf_wait();
	check(0);
	for (int i = 1; i <= T; i++) pthread_join(t[i], NULL);
	for (int i = 0; i <= T; i++) CHECK(!errors[i][0], "%s", errors[i]);
	return cf_pass();
}
