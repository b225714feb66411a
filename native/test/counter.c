/* Deterministic test program for the engine's smoke tests. Output depends only on the
 * arguments (and the pid inside the job's namespace), so a run that was frozen, dumped and
 * thawed must print exactly what an undisturbed run prints.
 *
 *   counter count ITER THREADS   ITER ticks of 100 ms; THREADS extra threads bump a shared
 *                                counter under a mutex; exits 3 when every check passes
 *   counter sleep MS             one nanosleep of MS milliseconds; exits 0 if it lasted
 *   counter read                 blocks in read(0); echoes the line; exits 0
 *   counter futex MS             waits on a condition variable a worker signals after MS
 *
 * Build: cc -O2 -pthread -o counter counter.c */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HEAP_BYTES (8u << 20)
#define THREAD_ITERS 40

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long *shared_total;   /* on the heap, so the heap must come back intact */
static int signalled;
static __thread long tls_marker;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0) {}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *bumper(void *arg)
{
	long id = (long)arg;
	tls_marker = 1000 + id;
	double x = 1.0;
	for (int i = 0; i < THREAD_ITERS; i++) {
		x = x * 1.0000001 + 0.5;   /* FP state live across the freeze */
		pthread_mutex_lock(&mu);
		(*shared_total)++;
		pthread_mutex_unlock(&mu);
		sleep_ms(25);
	}
	if (tls_marker != 1000 + id)
		return (void *)-1L;
	return (void *)(long)(x > 1.0);
}

static int count_mode(int iters, int nthreads)
{
	unsigned char *heap = malloc(HEAP_BYTES);
	long *counter = malloc(sizeof *counter);
	shared_total = malloc(sizeof *shared_total);
	if (!heap || !counter || !shared_total)
		return 1;
	for (size_t i = 0; i < HEAP_BYTES; i++)
		heap[i] = (unsigned char)(i * 7 + 1);
	*counter = 0;
	*shared_total = 0;
	pthread_t th[64];
	if (nthreads > 64)
		nthreads = 64;
	for (long i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, bumper, (void *)i);
	printf("start pid=%d threads=%d\n", getpid(), nthreads + 1);
	for (int i = 0; i < iters; i++) {
		(*counter)++;
		printf("tick %d counter=%ld\n", i, *counter);
		sleep_ms(100);
	}
	int ok = 1;
	for (int i = 0; i < nthreads; i++) {
		void *rv;
		pthread_join(th[i], &rv);
		if ((long)rv != 1)
			ok = 0;
	}
	for (size_t i = 0; i < HEAP_BYTES; i++)
		if (heap[i] != (unsigned char)(i * 7 + 1)) {
			ok = 0;
			break;
		}
	long expect = (long)nthreads * THREAD_ITERS;
	printf("done counter=%ld total=%ld expected=%ld heap=%s\n", *counter, *shared_total, expect, ok ? "ok" : "CORRUPT");
	return ok && *counter == iters && *shared_total == expect ? 3 : 1;
}

static void *signaller(void *arg)
{
	sleep_ms((long)arg);
	pthread_mutex_lock(&mu);
	signalled = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *mode = argc > 1 ? argv[1] : "count";
	if (!strcmp(mode, "count"))
		return count_mode(argc > 2 ? atoi(argv[2]) : 30, argc > 3 ? atoi(argv[3]) : 0);
	if (!strcmp(mode, "sleep")) {
		long ms = argc > 2 ? atol(argv[2]) : 3000;
		printf("sleeping pid=%d\n", getpid());
		double t0 = now_s();
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		int r = nanosleep(&ts, NULL);   /* one call: a restart must resume it, not end it */
		double took = now_s() - t0;
		/* -ERESTART_RESTARTBLOCK is resumed by restart_syscall on thaw: the full sleep. */
		printf("slept r=%d %s\n", r, took >= ms / 1000.0 - 0.001 ? "full" : "short");
		return r == 0 ? 0 : 1;
	}
	if (!strcmp(mode, "read")) {
		printf("reading pid=%d\n", getpid());
		char buf[256];
		ssize_t n = read(0, buf, sizeof buf - 1);
		if (n < 0) {
			printf("read failed\n");
			return 1;
		}
		buf[n] = 0;
		printf("got %s", buf);
		return 0;
	}
	if (!strcmp(mode, "futex")) {
		long ms = argc > 2 ? atol(argv[2]) : 2000;
		pthread_t t;
		printf("waiting pid=%d\n", getpid());
		pthread_create(&t, NULL, signaller, (void *)ms);
		pthread_mutex_lock(&mu);
		while (!signalled)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
		pthread_join(t, NULL);
		printf("woken\n");
		return 0;
	}
	fprintf(stderr, "unknown mode %s\n", mode);
	return 2;
}
