/* A deterministic program to checkpoint and restore: its output (stdout and the file it
 * appends to in its working directory) must be byte for byte that of an uninterrupted run.
 *
 *   restore_target [-t] [-m sleep|read|spin] [-n STEPS] [-d DELAY_MS] [-o FILE] [-M MB]
 *
 *   -t        4 worker threads: mutex + condvars; the main thread and three workers spend
 *             their time in futex waits, worker 0 in nanosleep
 *   -m sleep  (default) nanosleep between steps
 *   -m read   like sleep, but at the middle step blocks in read(0) for one byte
 *   -m spin   no sleeping: pure computation between steps
 *   -M MB     also fill MB MiB of memory (mmap) and checksum it at the end (image size tests)
 * Every step changes heap and FP state, grows and shrinks the heap through brk, and prints
 * a checksum; the last step grows the stack by 1 MiB (the restored [stack] must grow). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NWORKERS 4
#define NVALS (512 * 1024) /* 4 MiB of doubles */

static double *vals;
static int steps = 40, delay_ms = 50, threaded;
static const char *mode = "sleep";
static int out_fd;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
static int generation, finished;
static double partial[NWORKERS];

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	/* a restore may end a sleep early (EINTR): sleep the rest */
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double crunch(int lo, int hi, int step)
{
	double s = 0.0, x = 1.0 + step * 1e-3;
	for (int i = lo; i < hi; i++) {
		vals[i] = vals[i] * 0.999999 + x;
		x = x * 1.0000001 + 1e-9;
		s += vals[i] / (1.0 + (i & 7));
	}
	return s;
}

static void *worker(void *arg)
{
	int id = (int)(long)arg, seen = 0;
	for (;;) {
		pthread_mutex_lock(&mu);
		while (generation == seen)
			pthread_cond_wait(&work_cv, &mu);
		seen = generation;
		pthread_mutex_unlock(&mu);
		if (seen < 0)
			return NULL;
		double s = crunch(id * (NVALS / NWORKERS), (id + 1) * (NVALS / NWORKERS), seen);
		if (id == 0 && strcmp(mode, "spin"))
			sleep_ms(delay_ms); /* the step's pause happens here: main waits on a condvar */
		pthread_mutex_lock(&mu);
		partial[id] = s;
		finished++;
		pthread_cond_signal(&done_cv);
		pthread_mutex_unlock(&mu);
	}
}

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fputs(line, stdout);
	fflush(stdout);
	if (write(out_fd, line, (size_t)n) != n)
		exit(3);
}

static long deep(int depth)
{
	volatile char big[256 * 1024];
	memset((char *)big, depth, sizeof big);
	return depth ? big[depth] + deep(depth - 1) : big[0];
}

int main(int argc, char **argv)
{
	const char *out = "target-out.txt";
	int opt;
	size_t big_mb = 0;
	while ((opt = getopt(argc, argv, "tm:n:d:o:M:")) != -1) {
		if (opt == 't')
			threaded = 1;
		else if (opt == 'm')
			mode = optarg;
		else if (opt == 'n')
			steps = atoi(optarg);
		else if (opt == 'd')
			delay_ms = atoi(optarg);
		else if (opt == 'o')
			out = optarg;
		else if (opt == 'M')
			big_mb = (size_t)atol(optarg);
		else
			return 2;
	}
	out_fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (out_fd < 0)
		return 2;
	vals = malloc(NVALS * sizeof *vals);
	for (int i = 0; i < NVALS; i++)
		vals[i] = (double)(i % 1000) * 0.5;
	unsigned long *big = NULL;
	size_t nbig = big_mb << 17; /* 8-byte words */
	if (nbig) {
		big = malloc(nbig * sizeof *big);
		for (size_t i = 0; i < nbig; i++)
			big[i] = i * 2654435761u;
	}
	emit("start pid=%d threads=%d mode=%s\n", getpid(), threaded ? NWORKERS : 0, mode);

	pthread_t th[NWORKERS];
	if (threaded)
		for (long i = 0; i < NWORKERS; i++)
			pthread_create(&th[i], NULL, worker, (void *)i);

	double total = 0.0;
	for (int step = 1; step <= steps; step++) {
		double s = 0.0;
		if (threaded) {
			pthread_mutex_lock(&mu);
			finished = 0;
			generation = step;
			pthread_cond_broadcast(&work_cv);
			while (finished < NWORKERS)
				pthread_cond_wait(&done_cv, &mu);
			for (int i = 0; i < NWORKERS; i++)
				s += partial[i];
			pthread_mutex_unlock(&mu);
		} else {
			s = crunch(0, NVALS, step);
		}
		/* brk up and down (glibc serves these from the heap) */
		size_t n = 16384u * (size_t)(step % 8 + 1);
		unsigned char *p = malloc(n);
		for (size_t i = 0; i < n; i++)
			p[i] = (unsigned char)(i * step);
		unsigned sum = 0;
		for (size_t i = 0; i < n; i++)
			sum += p[i];
		free(p);
		total += s;
		emit("step %d s=%.6f total=%.6f heap=%u\n", step, s, total, sum);
		if (!strcmp(mode, "read") && step == steps / 2) {
			char c = 0;
			ssize_t r;
			do
				r = read(0, &c, 1);
			while (r < 0 && errno == EINTR);
			emit("read %zd '%c'\n", r, r == 1 ? c : '?');
		}
		if (!threaded && strcmp(mode, "spin"))
			sleep_ms(delay_ms);
	}
	emit("deep %ld\n", deep(4));
	if (nbig) {
		unsigned long h = 0;
		for (size_t i = 0; i < nbig; i++)
			h = h * 31 + big[i];
		emit("big %zu MiB hash=%lx\n", big_mb, h);
	}
	if (threaded) {
		pthread_mutex_lock(&mu);
		generation = -1;
		pthread_cond_broadcast(&work_cv);
		pthread_mutex_unlock(&mu);
		for (int i = 0; i < NWORKERS; i++)
			pthread_join(th[i], NULL);
	}
	emit("done pid=%d tid=%ld\n", getpid(), (long)syscall(SYS_gettid));
	return 0;
}
