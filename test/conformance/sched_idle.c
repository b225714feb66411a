/* The scheduling policy SCHED_IDLE (which any user may choose) is kept. */
#include "conformance.h"
#include <sched.h>

int main(void)
{
	cf_start();
	struct sched_param sp = { 0 };
	OK(sched_setscheduler(0, SCHED_IDLE, &sp));
	cf_wait();
	int p = sched_getscheduler(0);
	CHECK(p == SCHED_IDLE, "scheduling policy is %d, expected SCHED_IDLE (%d)", p, SCHED_IDLE);
	return cf_pass();
}
