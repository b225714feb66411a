/* The nice value (raised to 7, which any user may do) is kept. */
#include "conformance.h"
#include <sys/resource.h>

int main(void)
{
	cf_start();
	OK(setpriority(PRIO_PROCESS, 0, 7));
	cf_wait();
	errno = 0;
	int n = getpriority(PRIO_PROCESS, 0);
	CHECK(errno == 0, "getpriority: %s", strerror(errno));
	CHECK(n == 7, "nice is %d, expected 7", n);
	return cf_pass();
}
