/* A timerfd on CLOCK_MONOTONIC, periodic 100 ms: still armed with its interval and
 * readable with expirations after restore. */
#include "conformance.h"
#include <sys/timerfd.h>

int main(void)
{
	cf_start();
	int fd = OK(timerfd_create(CLOCK_MONOTONIC, 0));
	struct itimerspec its = { { 0, 100000000 }, { 0, 100000000 } };
	OK(timerfd_settime(fd, 0, &its, NULL));
	cf_wait();
	struct itimerspec now;
	CHECK(timerfd_gettime(fd, &now) == 0, "timerfd_gettime: %s", strerror(errno));
	CHECK(now.it_interval.tv_sec == 0 && now.it_interval.tv_nsec == 100000000, "timerfd interval is %ld.%09ld s, expected 0.1 s", (long)now.it_interval.tv_sec, now.it_interval.tv_nsec);
	uint64_t n = 0;
	CHECK(read(fd, &n, 8) == 8 && n >= 1, "reading the timerfd: %s", strerror(errno));
	return cf_pass();
}
