/* An O_APPEND descriptor still appends at the end of the file after restore, whatever
 * its offset was. */
#include "conformance.h"

int main(void)
{
	cf_start();
	int fd = OK(open("log.txt", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644));
	CHECK(write(fd, "first\n", 6) == 6, "write: %s", strerror(errno));
	OK(lseek(fd, 0, SEEK_SET)); /* a non-append descriptor would now overwrite "first" */
	cf_wait();
	CHECK(fcntl(fd, F_GETFL) & O_APPEND, "descriptor lost O_APPEND");
	CHECK(write(fd, "second\n", 7) == 7, "write after restore: %s", strerror(errno));
	char buf[64] = { 0 };
	int r = OK(open("log.txt", O_RDONLY));
	ssize_t n = read(r, buf, sizeof buf - 1);
	CHECK(n == 13 && strcmp(buf, "first\nsecond\n") == 0, "file holds '%s' (%zd bytes), expected 'first\\nsecond\\n'", buf, n);
	return cf_pass();
}
