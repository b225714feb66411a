/* A non-blocking pipe grown to 256 KiB and filled to the brim with a pattern: after restart
 * it has the same capacity, is still full (EAGAIN on one more byte), still non-blocking,
 * and gives back every byte in order. */
#include "conformance.h"

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + (i >> 9)); }

int main(void)
{
	cf_start();
	int p[2];
	OK(pipe2(p, O_NONBLOCK));
	int cap = OK(fcntl(p[1], F_SETPIPE_SZ, 256 * 1024));
	static unsigned char buf[1 << 20];
	for (int i = 0; i < cap; i++)
		buf[i] = pattern((size_t)i);
	CHECK(write(p[1], buf, (size_t)cap) == cap, "filling the pipe: %s", strerror(errno));
	cf_wait();
	CHECK(fcntl(p[1], F_GETPIPE_SZ) == cap, "capacity is %d, was %d", fcntl(p[1], F_GETPIPE_SZ), cap);
	CHECK((fcntl(p[0], F_GETFL) & O_NONBLOCK) && (fcntl(p[1], F_GETFL) & O_NONBLOCK), "no longer non-blocking");
	CHECK(write(p[1], "x", 1) == -1 && errno == EAGAIN, "a full pipe took one more byte");
	memset(buf, 0, sizeof buf);
	ssize_t n = read(p[0], buf, sizeof buf);
	CHECK(n == cap, "read %zd bytes back, %d were in flight", n, cap);
	for (int i = 0; i < cap; i++)
		CHECK(buf[i] == pattern((size_t)i), "byte %d differs", i);
	CHECK(read(p[0], buf, 1) == -1 && errno == EAGAIN, "more bytes than were written");
	return cf_pass();
}
