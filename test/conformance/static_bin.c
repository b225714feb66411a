/* flags: -static */
/* A statically linked program (no ld.so, no vdso lookups by the loader): heap, a thread,
 * TLS and the clock all work after restore. */
#include "conformance.h"
#include <pthread.h>

static __thread uint64_t tls;
static uint64_t *heap;
static volatile uint64_t thread_tls;

static void *thread_main(void *arg)
{
	(void)arg;
	tls = cf_nonce ^ 0x55;
	while (!cf_exists(cf_go)) cf_sleep_ms(20);
	thread_tls = tls;
	return NULL;
}

int main(void)
{
	cf_start();
	tls = cf_nonce;
	heap = malloc(1 << 20);
	for (int i = 0; i < (1 << 17); i++) heap[i] = cf_nonce + i;
	pthread_t t;
	CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0, "pthread_create");
	long long t0 = cf_now_ns(CLOCK_MONOTONIC);
	cf_wait();
	CHECK(cf_now_ns(CLOCK_MONOTONIC) >= t0, "CLOCK_MONOTONIC went backwards");
	pthread_join(t, NULL);
	CHECK(tls == cf_nonce, "main thread TLS lost");
	CHECK(thread_tls == (cf_nonce ^ 0x55), "second thread TLS lost");
	for (int i = 0; i < (1 << 17); i++) CHECK(heap[i] == cf_nonce + i, "heap word %d lost", i);
	free(heap);
	CHECK(malloc(10 << 20), "malloc after restore failed");
	return cf_pass();
}
