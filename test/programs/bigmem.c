/* A process holding MiB of memory filled with a pattern (random, zero or patterned),
 * then idling; on SIGUSR1... no signals: it checks its memory every STEP_MS and appends
 * "ok N" or "BAD" to OUTFILE, so a restart is checked too.
 *   bigmem OUTFILE MiB random|zero|pattern|mixed|text STEPS STEP_MS [huge]
 * huge: the memory is madvise(MADV_HUGEPAGE)d, as a job that asks for transparent huge pages
 * (or runs where they are always on) has it;
 * mixed: 1 MiB random, 1 MiB zeros, ..., with every 8th page of the random MiBs zero too;
 * text: words and numbers, compressible about as much as logs or text files are. */
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
	if (argc > 6 && !strcmp(argv[6], "huge") && madvise(m, bytes, MADV_HUGEPAGE)) return 4;
	size_t n = bytes / 8;
	uint64_t seed = 88172645463325252ULL;
	static const char words[16][9] = { "alpha   ", "beta    ", "gamma   ", "delta   ", "step=   ", "ok      ", "value:  ",
					   "node17  ", "rank    ", "iter    ", "energy= ", "-0.0031 ", "1.25e+03", "MPI     ", "t=      ", "\n       " };
	int mixed = !strcmp(kind, "mixed"), text = !strcmp(kind, "text"), random = !strcmp(kind, "random"), zero = !strcmp(kind, "zero");
	for (size_t i = 0; i < n; i++) {
		if (random)
			m[i] = next(&seed);
		else if (zero)
			m[i] = 0;
		else if (mixed)
			m[i] = ((i >> 17) & 1) || ((i >> 9) & 7) == 7 ? 0 : next(&seed);
		else if (text) {
			uint64_t r = next(&seed);
			if ((r & 3) == 0) { /* a number: 8 decimal digits */
				char d[8];
				for (int k = 0; k < 8; k++) d[k] = (char)('0' + (r >> (8 + 4 * k)) % 10);
				memcpy(&m[i], d, 8);
			} else
				memcpy(&m[i], words[(r >> 2) & 15], 8);
		} else
			m[i] = (i & 0xff) * 0x0101010101010101ULL;
	}
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
