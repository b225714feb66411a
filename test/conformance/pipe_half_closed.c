/* Two pipes with one end closed: the reader of the first sees its bytes and then EOF; the
 * writer of the second gets EPIPE (SIGPIPE ignored) — as before the checkpoint. */
#include "conformance.h"
#include <signal.h>

int main(void)
{
	cf_start();
	signal(SIGPIPE, SIG_IGN);
	int a[2], b[2];
	OK(pipe(a));
	OK(pipe(b));
	CHECK(write(a[1], "last words", 10) == 10, "write: %s", strerror(errno));
	OK(close(a[1]));
	OK(close(b[0]));
	cf_wait();
	char buf[16] = { 0 };
	CHECK(read(a[0], buf, sizeof buf) == 10 && !memcmp(buf, "last words", 10), "read gave '%s'", buf);
	CHECK(read(a[0], buf, sizeof buf) == 0, "no EOF after the bytes: the write end came back open");
	CHECK(write(b[1], "x", 1) == -1 && errno == EPIPE, "write to a pipe without reader: %s",
	      strerror(errno));
	return cf_pass();
}
