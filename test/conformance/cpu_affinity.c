/* The CPU affinity mask (restricted to one allowed CPU, the last one) is kept. */
#include "conformance.h"
#include <sched.h>

int main(void)
{
	cf_start();
	cpu_set_t all, one;
	OK(sched_getaffinity(0, sizeof all, &all));
	int last = -1;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all)) last = c;
	CHECK(CPU_COUNT(&all) > 1, "only one CPU allowed: nothing to restrict");
	CPU_ZERO(&one);
	CPU_SET(last, &one);
	OK(sched_setaffinity(0, sizeof one, &one));
	cf_wait();
	cpu_set_t now;
	OK(sched_getaffinity(0, sizeof now, &now));
	CHECK(CPU_EQUAL(&now, &one), "affinity has %d CPUs, expected only CPU %d", CPU_COUNT(&now), last);
	return cf_pass();
}
