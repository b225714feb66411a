/* Workloads for the benchmark (test/bench): each measures its own elapsed time, so the same
 * binary natively and under cairn compares the cost of running inside cairn's job, not the
 * cost of starting it.
 *   workload OUTFILE malloc ITERS    8 threads, malloc/free of mixed sizes
 *   workload OUTFILE pipe MiB        a child writes MiB through a pipe, the parent reads, both
 *                                    on one CPU (whether they share one or not is most of the
 *                                    run-to-run noise otherwise)
 *   workload OUTFILE syscall N       N getppid system calls
 *   workload OUTFILE idle THREADS MiB   MiB of random memory, THREADS threads, then sleeps
 *   workload OUTFILE readin FILE [THREADS [buffered]]  FILE read into fresh memory
 *                                    (MADV_POPULATE_WRITE + O_DIRECT pread of 64 MiB chunks by
 *                                    THREADS threads; buffered: without O_DIRECT, as where it is
 *                                    refused): the limit of a restore
 * Appends "elapsed_ns N cpu_ns M" (or "ready" for idle) to OUTFILE: M is the CPU time (user +
 * system) of the process and its waited-for children over the same stretch. WORKLOAD_REPEAT=K
 * runs malloc, pipe or syscall K times in a row, a line each. pipe and syscall run on the first
 * CPU the process may use, always the same one: the CPUs of a virtual machine can differ in
 * speed by 10% and more, as they did on our 2-CPU test VM. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long iters;

static uint64_t cpu_ns(void)
{
	struct rusage self, children;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &children);
	uint64_t us = 0;
	for (const struct rusage *r = &self; r; r = r == &self ? &children : NULL)
		us += (uint64_t)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1000000ULL + (uint64_t)(r->ru_utime.tv_usec + r->ru_stime.tv_usec);
	return us * 1000ULL;
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* readin: THREADS threads take 64 MiB chunks in turn, each faulted in at once and read */
static int readin_fd, readin_failed;
static char *readin_mem;
static size_t readin_size, readin_next;

static void *readin_worker(void *arg)
{
	(void)arg;
	for (;;) {
		size_t off = __atomic_fetch_add(&readin_next, 64u << 20, __ATOMIC_RELAXED);
		if (off >= readin_size) return NULL;
		size_t n = readin_size - off > (64u << 20) ? (64u << 20) : readin_size - off;
		madvise(readin_mem + off, n, 23 /* MADV_POPULATE_WRITE */);
		/* O_DIRECT wants whole blocks: the last read of a file whose size is not a multiple of
		 * the page asks for the whole page (the mapping has room) and gets the rest. */
		const size_t want = (n + 4095) & ~(size_t)4095;
		for (size_t done = 0; done < n;) {
			ssize_t r = pread(readin_fd, readin_mem + off + done, want - done, (off_t)(off + done));
			if (r <= 0) {
				readin_failed = 1;
				return NULL;
			}
			done += (size_t)r;
		}
	}
}

static uint64_t next(uint64_t *s) { *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17; return *s; }

static void *malloc_worker(void *arg)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL + (uintptr_t)arg;
	enum { POOL = 1024 };
	void *pool[POOL] = { 0 };
	for (long i = 0; i < iters; i++) {
		uint64_t r = next(&seed);
		size_t k = r % POOL, size = 16 + (r >> 16) % 4096;
		free(pool[k]);
		pool[k] = malloc(size);
		memset(pool[k], (int)i, size < 64 ? size : 64);
	}
	for (int k = 0; k < POOL; k++) free(pool[k]);
	return NULL;
}

/* The first CPU of the affinity mask; once, before any run is timed (pipe's child inherits it). */
static void pin_first_cpu(void)
{
	cpu_set_t allowed, one;
	if (sched_getaffinity(0, sizeof allowed, &allowed) < 0) return;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &allowed)) continue;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		sched_setaffinity(0, sizeof one, &one);
		return;
	}
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;) pause();
	return NULL;
}

/* One run of a timed workload; 0, or the exit status of a failure. */
static int run_once(const char *mode, long n)
{
	if (!strcmp(mode, "malloc")) {
		pthread_t th[8];
		iters = n;
		for (int i = 0; i < 8; i++) pthread_create(&th[i], NULL, malloc_worker, (void *)(intptr_t)i);
		for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
	} else if (!strcmp(mode, "pipe")) {
		int p[2];
		static char buf[65536];
		if (pipe(p) < 0) return 4;
		pid_t c = fork();
		if (c == 0) {
			close(p[0]);
			memset(buf, 'x', sizeof buf);
			for (long i = 0; i < n * 16; i++)
				if (write(p[1], buf, sizeof buf) != (ssize_t)sizeof buf) _exit(1);
			_exit(0);
		}
		close(p[1]);
		long total = 0;
		for (ssize_t r; (r = read(p[0], buf, sizeof buf)) > 0;) total += r;
		close(p[0]);
		waitpid(c, NULL, 0);
		if (total != n << 20) return 5;
	} else {
		for (long i = 0; i < n; i++) syscall(SYS_getppid);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) return 2;
	FILE *out = fopen(argv[1], "a");
	if (!out) return 3;
	const char *mode = argv[2];
	long n = atol(argv[3]);
	/* WORKLOAD_SETTLE_MS: idle first, so that a run under cairn is timed once the agent and
	 * coordinator have started (their start is the launch overhead, measured apart) */
	const char *settle = getenv("WORKLOAD_SETTLE_MS");
	if (settle) usleep((useconds_t)atol(settle) * 1000);
	uint64_t t0 = now_ns(), c0 = cpu_ns();
	if (!strcmp(mode, "malloc") || !strcmp(mode, "pipe") || !strcmp(mode, "syscall")) {
		if (strcmp(mode, "malloc")) pin_first_cpu();
		const char *rep = getenv("WORKLOAD_REPEAT");
		long reps = rep ? atol(rep) : 1;
		for (long k = 0; k < reps; k++) {
			t0 = now_ns(), c0 = cpu_ns();
			int r = run_once(mode, n);
			if (r) return r;
			if (k + 1 < reps) fprintf(out, "elapsed_ns %llu cpu_ns %llu\n", (unsigned long long)(now_ns() - t0), (unsigned long long)(cpu_ns() - c0));
		}
	} else if (!strcmp(mode, "readin")) {
		const int buffered = argc > 5 && !strcmp(argv[5], "buffered");
		readin_fd = buffered ? -1 : open(argv[3], O_RDONLY | O_DIRECT);   /* as a restore reads pages */
		if (readin_fd < 0) readin_fd = open(argv[3], O_RDONLY);
		struct stat st;
		if (readin_fd < 0 || fstat(readin_fd, &st) < 0) return 7;
		int nt = argc > 4 ? atoi(argv[4]) : 1;
		if (nt < 1 || nt > 64) return 2;
		t0 = now_ns(), c0 = cpu_ns();
		readin_size = (size_t)st.st_size;
		readin_mem = mmap(NULL, (readin_size + 4095) & ~(size_t)4095, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (readin_mem == MAP_FAILED) return 8;
		pthread_t th[64];
		for (long i = 0; i < nt; i++) pthread_create(&th[i], NULL, readin_worker, (void *)i);
		for (int i = 0; i < nt; i++) pthread_join(th[i], NULL);
		if (readin_failed) return 9;
	} else if (!strcmp(mode, "idle") && argc >= 5) {
		size_t bytes = (size_t)atol(argv[4]) << 20;
		uint64_t *m = malloc(bytes), seed = 88172645463325252ULL;
		if (!m) return 6;
		for (size_t i = 0; i < bytes / 8; i++) m[i] = next(&seed);
		pthread_t th;
		for (long i = 1; i < n; i++) pthread_create(&th, NULL, sleeper, NULL);
		fprintf(out, "ready\n");
		fflush(out);
		for (;;) pause();
	} else {
		return 2;
	}
	fprintf(out, "elapsed_ns %llu cpu_ns %llu\n", (unsigned long long)(now_ns() - t0), (unsigned long long)(cpu_ns() - c0));
	fclose(out);
	return 0;
}
