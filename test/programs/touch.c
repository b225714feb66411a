// Holds MIB MiB of random memory and, every step, rewrites one word in each page of its
// first PERMILLE thousandths only: between two checkpoints, that is all it writes (for
// incremental images). Prints a checksum of the whole memory each step.
//   touch OUT STEPS STEP_MS MIB PERMILLE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv)
{
	if (argc < 6) return 2;
	long steps = atol(argv[2]), ms = atol(argv[3]);
	size_t bytes = (size_t)atol(argv[4]) << 20, n = bytes / 8;
	size_t hot = bytes / 4096 * (size_t)atol(argv[5]) / 1000;
	uint64_t *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) return 3;
	uint64_t x = 88172645463325252ULL;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		m[i] = x;
	}
	FILE *out = fopen(argv[1], "a");
	if (!out) return 4;
	for (long s = 0; s < steps; s++) {
		for (size_t p = 0; p < hot; p++) m[p * 512 + (size_t)s % 64 * 8] += (uint64_t)s;
		uint64_t sum = 0;
		for (size_t i = 0; i < n; i += 8) sum = sum * 1099511628211ULL + m[i];
		fprintf(out, "step %ld sum %016llx\n", s, (unsigned long long)sum);
		fflush(out);
		struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };
		nanosleep(&d, NULL);
	}
	fprintf(out, "done\n");
	return 0;
}
