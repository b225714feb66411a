/* How long an idle process holding MiB of touched memory takes to run again when woken:
 * the floor under any pause, which ends with the job's processes returning to user mode.
 *   wake MiB ROUNDS GAP_MS
 * A helper (forked before the memory exists, so it holds none) sleeps GAP_MS, then writes its
 * CLOCK_MONOTONIC time into a pipe the big process is blocked reading; the big process prints
 * "wake_ns N", from that time to its own return from read, once per round. On a bare kernel
 * this is a few microseconds; some hypervisors rebuild the page tables of a process that has
 * slept, at its next return to user mode (tens of ms per 4 GiB measured here). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: wake MiB ROUNDS GAP_MS\n");
		return 2;
	}
	size_t bytes = (size_t)atol(argv[1]) << 20;
	int rounds = atoi(argv[2]);
	long gap_ms = atol(argv[3]);
	int go[2], ready[2];
	if (pipe(go) || pipe(ready)) return 3;
	pid_t helper = fork();
	if (helper < 0) return 3;
	if (helper == 0) {
		char c;
		if (read(ready[0], &c, 1) != 1) _exit(1);   /* the memory is built */
		for (int i = 0; i < rounds; i++) {
			struct timespec d = { gap_ms / 1000, (gap_ms % 1000) * 1000000 };
			nanosleep(&d, NULL);
			int64_t t = mono_ns();
			if (write(go[1], &t, sizeof t) != sizeof t) _exit(1);
		}
		_exit(0);
	}
	uint64_t *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) return 3;
	uint64_t s = 88172645463325252ULL;
	for (size_t i = 0; i < bytes / 8; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		m[i] = s;
	}
	if (write(ready[1], "r", 1) != 1) return 3;
	for (int i = 0; i < rounds; i++) {
		int64_t sent;
		if (read(go[0], &sent, sizeof sent) != sizeof sent) return 4;
		int64_t now = mono_ns();
		printf("wake_ns %lld\n", (long long)(now - sent));
	}
	waitpid(helper, NULL, 0);
	return 0;
}
