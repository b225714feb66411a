/* alarm(60): still pending after restore with its remaining time (not 0, not more
 * than 60 s). */
#include "conformance.h"

int main(void)
{
	cf_start();
	alarm(60);
	cf_wait();
	unsigned left = alarm(0);
	CHECK(left > 0 && left <= 60, "alarm has %u s left, expected 1..60", left);
	return cf_pass();
}
