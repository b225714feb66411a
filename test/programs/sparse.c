/* A process with a huge, mostly empty writable reservation (MAP_NORESERVE), as sanitizers'
 * shadow memory and some runtimes' heaps are, beside DENSE_MIB MiB of ordinary memory.
 *   sparse OUTFILE RESERVE_GIB DENSE_MIB STEPS STEP_MS
 * Every STEP_MS it writes one more page of the reservation (4096 of them, spread over all of
 * it) and some of the dense memory, and appends "step N sum S" (a checksum of both) to
 * OUTFILE; "ready" first. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: sparse OUTFILE RESERVE_GIB DENSE_MIB STEPS STEP_MS\n");
		return 2;
	}
	size_t len = (size_t)atol(argv[2]) << 30, dense = (size_t)atol(argv[3]) << 20;
	long steps = atol(argv[4]), ms = atol(argv[5]);
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t *d = malloc(dense);
	if (m == MAP_FAILED || !d) return 3;
	const size_t stride = len / 4096 / 4096 * 4096;   /* 4096 pages spread over all of it */
	uint64_t seed = 88172645463325252ULL;
	for (size_t i = 0; i < dense / 8; i++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		d[i] = seed;
	}
	FILE *out = fopen(argv[1], "a");
	if (!out) return 4;
	fprintf(out, "ready\n");
	fflush(out);
	for (long s = 0; s < steps; s++) {
		size_t at = (size_t)(s % 4096) * stride;
		for (int i = 0; i < 4096; i++) m[at + i] = (uint8_t)(s * 31 + i);
		for (size_t i = (size_t)s % 512; i < dense / 8; i += 512) d[i] += (uint64_t)s;
		uint64_t sum = 0;
		for (long k = 0; k <= s && k < 4096; k++)
			for (int i = 0; i < 4096; i += 64) sum = sum * 1099511628211ULL + m[(size_t)k * stride + i];
		for (size_t i = 0; i < dense / 8; i += 61) sum = sum * 1099511628211ULL + d[i];
		fprintf(out, "step %ld sum %016llx\n", s, (unsigned long long)sum);
		fflush(out);
		struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
		nanosleep(&t, NULL);
	}
	fprintf(out, "done\n");
	return 0;
}
