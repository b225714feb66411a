/* A process holding MiB of memory filled with a pattern (random, zero or patterned),
 * then idling; on SIGUSR1... no signals: it checks its memory every STEP_MS and appends
 * "ok N" or "BAD" to OUTFILE, so a restart is checked too.
 *   bigmem OUTFILE MiB random|zero|pattern STEPS STEP_MS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint64_t next(uint64_t *s) { *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17; return *s; }

int main(int argc, char **argv)
{
	if (argc < 6) return 2;
	size_t bytes = (size_t)atol(argv[2]) << 20;
	const char *kind = argv[3];
	long steps = atol(argv[4]), ms = atol(argv[5]);
	uint64_t *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) return 3;
	size_t n = bytes / 8;
	uint64_t seed = 88172645463325252ULL;
	for (size_t i = 0; i < n; i++)
		m[i] = !strcmp(kind, "random") ? next(&seed) : !strcmp(kind, "zero") ? 0 : (i & 0xff) * 0x0101010101010101ULL;
	uint64_t want = 0;
	for (size_t i = 0; i < n; i++) want = want * 1099511628211ULL + m[i];
	FILE *out = fopen(argv[1], "a");
	fprintf(out, "ready pid %d\n", (int)getpid());
	fflush(out);
	for (long s = 0; s < steps; s++) {
		struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };
		nanosleep(&d, NULL);
		uint64_t sum = 0;
		for (size_t i = 0; i < n; i++) sum = sum * 1099511628211ULL + m[i];
		fprintf(out, "%s %ld\n", sum == want ? "ok" : "BAD", s);
		fflush(out);
	}
	fprintf(out, "done pid %d\n", (int)getpid());
	return 0;
}
