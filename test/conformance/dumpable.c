/* PR_SET_DUMPABLE 0 is kept. */
#include "conformance.h"
#include <sys/prctl.h>

int main(void)
{
	cf_start();
	OK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
	cf_wait();
	int v = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	CHECK(v == 0, "dumpable is %d, expected 0", v);
	return cf_pass();
}
