/* Deterministic single-threaded compute program: every step it does some heap and FP
 * work, then appends one line (step, getpid(), checksum) to a file in its cwd and sleeps.
 *   counter OUTFILE STEPS STEP_MS [MiB]
 * Same arguments -> same output file, byte for byte, however often it is checkpointed,
 * killed and restarted. MiB (default 1) is the heap it keeps and checksums. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4) { fprintf(stderr, "usage: counter OUTFILE STEPS STEP_MS [MiB]\n"); return 2; }
	long steps = atol(argv[2]), ms = atol(argv[3]);
	size_t mib = argc > 4 ? (size_t)atol(argv[4]) : 1;
	size_t n = mib * 1024 * 1024 / sizeof(uint64_t);
	uint64_t *heap = malloc(n * sizeof *heap);
	if (!heap) return 3;
	for (size_t i = 0; i < n; i++) heap[i] = i * 0x9e3779b97f4a7c15ULL;
	FILE *out = fopen(argv[1], "a");
	if (!out) { perror(argv[1]); return 4; }
	struct timespec last;
	clock_gettime(CLOCK_MONOTONIC, &last);
	double fp = 1.0;
	uint64_t sum = 0;
	for (long s = 0; s < steps; s++) {
		for (size_t i = s % 64; i < n; i += 4096 / sizeof(uint64_t)) heap[i] = heap[i] * 6364136223846793005ULL + s;
		for (size_t i = 0; i < n; i += 512) sum = sum * 31 + heap[i];
		for (int k = 0; k < 1000; k++) fp = fp * 1.0000001 + 1e-9 * k;
		fprintf(out, "step %ld pid %d sum %016llx fp %.9f\n", s, (int)getpid(), (unsigned long long)sum, fp);
		fflush(out);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		/* CLOCK_MONOTONIC never goes backwards, even across a restart (time namespace) */
		if (now.tv_sec < last.tv_sec || (now.tv_sec == last.tv_sec && now.tv_nsec < last.tv_nsec)) {
			fprintf(out, "CLOCK WENT BACKWARDS\n");
			fflush(out);
		}
		last = now;
		struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };
		nanosleep(&d, NULL);
	}
	fprintf(out, "done pid %d\n", (int)getpid());
	fclose(out);
	printf("counter finished %ld steps\n", steps);
	return 0;
}
