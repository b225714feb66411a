/* An eventfd keeps its counter (42) and its flags. */
#include "conformance.h"
#include <sys/eventfd.h>

int main(void)
{
	cf_start();
	int fd = OK(eventfd(0, EFD_NONBLOCK));
	uint64_t v = 40;
	CHECK(write(fd, &v, 8) == 8, "write: %s", strerror(errno));
	v = 2;
	CHECK(write(fd, &v, 8) == 8, "write: %s", strerror(errno));
	cf_wait();
	v = 0;
	CHECK(read(fd, &v, 8) == 8, "reading the eventfd: %s", strerror(errno));
	CHECK(v == 42, "eventfd counter is %llu, expected 42", (unsigned long long)v);
	CHECK(read(fd, &v, 8) == -1 && errno == EAGAIN, "eventfd is not non-blocking or not empty after reading");
	return cf_pass();
}
