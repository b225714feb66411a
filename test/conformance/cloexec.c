/* The close-on-exec flag of each descriptor is kept: set on one, clear on another. */
#include "conformance.h"

int main(void)
{
	cf_start();
	cf_touch("a.txt");
	int with = OK(open("a.txt", O_RDONLY | O_CLOEXEC));
	int without = OK(open("a.txt", O_RDONLY));
	int dup_with = OK(fcntl(without, F_DUPFD_CLOEXEC, 40));
	int dup_without = OK(dup2(with, 41)); /* dup2 clears the flag */
	cf_wait();
	struct { int fd, want; } c[] = { { with, 1 }, { without, 0 }, { dup_with, 1 }, { dup_without, 0 } };
	for (int i = 0; i < 4; i++) {
		int f = fcntl(c[i].fd, F_GETFD);
		CHECK(f != -1, "fd %d is not open: %s", c[i].fd, strerror(errno));
		CHECK(!!(f & FD_CLOEXEC) == c[i].want, "fd %d: FD_CLOEXEC is %s, expected %s", c[i].fd, f & FD_CLOEXEC ? "set" : "clear", c[i].want ? "set" : "clear");
	}
	return cf_pass();
}
