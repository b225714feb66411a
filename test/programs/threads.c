/* Deterministic 8-thread program: rounds of FP work split over worker threads that meet
 * at a mutex/condition-variable barrier; the main thread appends each round's combined
 * result to a file.   threads OUTFILE ROUNDS ROUND_MS */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define NT 8
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER, done = PTHREAD_COND_INITIALIZER;
static long round_no = -1, finished = 0, rounds;
static double part[NT];

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	double acc = id + 1;
	for (long r = 0; r < rounds; r++) {
		pthread_mutex_lock(&mu);
		while (round_no < r) pthread_cond_wait(&go, &mu);
		pthread_mutex_unlock(&mu);
		for (int k = 0; k < 20000; k++) acc = acc * 0.999999 + (double)((k ^ id) & 7) * 1e-7;
		pthread_mutex_lock(&mu);
		part[id] = acc;
		finished++;
		pthread_cond_signal(&done);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4) { fprintf(stderr, "usage: threads OUTFILE ROUNDS ROUND_MS\n"); return 2; }
	rounds = atol(argv[2]);
	long ms = atol(argv[3]);
	FILE *out = fopen(argv[1], "a");
	if (!out) return 4;
	pthread_t t[NT];
	for (int i = 0; i < NT; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
	for (long r = 0; r < rounds; r++) {
		pthread_mutex_lock(&mu);
		finished = 0;
		round_no = r;
		pthread_cond_broadcast(&go);
		while (finished < NT) pthread_cond_wait(&done, &mu);
		double total = 0;
		for (int i = 0; i < NT; i++) total += part[i];
		pthread_mutex_unlock(&mu);
		fprintf(out, "round %ld pid %d total %.12f\n", r, (int)getpid(), total);
		fflush(out);
		struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };
		nanosleep(&d, NULL);
	}
	for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
	fprintf(out, "done pid %d\n", (int)getpid());
	fclose(out);
	return 0;
}
