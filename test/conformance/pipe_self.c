/* A pipe inside one process with 5 bytes buffered: the bytes are still there, and the
 * two ends are still connected, each with its own close-on-exec flag. */
#include "conformance.h"

int main(void)
{
	cf_start();
	int p[2];
	OK(pipe(p));
	OK(fcntl(p[0], F_SETFD, FD_CLOEXEC));
	CHECK(write(p[1], "hello", 5) == 5, "write: %s", strerror(errno));
	cf_wait();
	CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == 0, "close-on-exec flags changed");
	CHECK(write(p[1], "!", 1) == 1, "writing the pipe: %s", strerror(errno));
	char buf[8] = { 0 };
	CHECK(read(p[0], buf, 6) == 6 && !memcmp(buf, "hello!", 6), "pipe gave '%s', expected 'hello!'", buf);
	return cf_pass();
}
