/* Appends CLOCK_MONOTONIC and CLOCK_BOOTTIME (ms) to OUTFILE every STEP_MS, STEPS times:
 * a restart must not show the outage as a jump.   clock OUTFILE STEPS STEP_MS */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long ms(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec * 1000LL + t.tv_nsec / 1000000; }

int main(int argc, char **argv)
{
	if (argc < 4) return 2;
	FILE *out = fopen(argv[1], "a");
	long steps = atol(argv[2]), step = atol(argv[3]);
	for (long i = 0; i < steps; i++) {
		fprintf(out, "%ld %lld %lld\n", i, ms(CLOCK_MONOTONIC), ms(CLOCK_BOOTTIME));
		fflush(out);
		struct timespec d = { step / 1000, (step % 1000) * 1000000L };
		nanosleep(&d, NULL);
	}
	return 0;
}
