/* The timer slack (PR_SET_TIMERSLACK, 2 ms instead of the default 50 us) is kept. */
#include "conformance.h"
#include <sys/prctl.h>

int main(void)
{
	cf_start();
	OK(prctl(PR_SET_TIMERSLACK, 2000000UL, 0, 0, 0));
	cf_wait();
	long v = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	CHECK(v == 2000000, "timer slack is %ld ns, expected 2000000", v);
	return cf_pass();
}
