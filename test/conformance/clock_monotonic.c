/* outage-ms: 1500 */
/* CLOCK_MONOTONIC is continuous: sampled every 20 ms while the job is checkpointed,
 * killed, dead for 1.5 s and restarted (twice), it never goes back and never jumps by
 * the outage, while CLOCK_REALTIME does show it. */
#include "conformance.h"

static long long last_mono, last_real, worst_mono, worst_real, backwards;

static void tick(void)
{
	long long m = cf_now_ns(CLOCK_MONOTONIC), r = cf_now_ns(CLOCK_REALTIME);
	if (last_mono) {
		if (m < last_mono) backwards = last_mono - m;
		if (m - last_mono > worst_mono) worst_mono = m - last_mono;
		if (r - last_real > worst_real) worst_real = r - last_real;
	}
	last_mono = m, last_real = r;
}

int main(void)
{
	cf_start();
	cf_wait_tick(tick);
	tick();
	CHECK(!backwards, "CLOCK_MONOTONIC went back by %lld ns", backwards);
	CHECK(worst_real >= 1500000000LL, "CLOCK_REALTIME never jumped by the 1.5 s outage (largest step %lld ms): no restart happened?", worst_real / 1000000);
	CHECK(worst_mono < 1000000000LL, "CLOCK_MONOTONIC jumped by %lld ms (the outage was 1500 ms)", worst_mono / 1000000);
	return cf_pass();
}
