/* A stream socketpair whose other end was closed with data still queued for this end: the
 * data comes back, then EOF, and sending fails with EPIPE, as before the checkpoint. */
#include "conformance.h"
#include <sys/socket.h>

int main(void)
{
	cf_start();
	int sv[2];
	OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK(send(sv[1], "last words", 10, 0) == 10, "send: %s", strerror(errno));
	close(sv[1]);
	cf_wait();
	char buf[16] = { 0 };
	CHECK(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT) == 10 && !memcmp(buf, "last words", 10), "queued data: got '%s' (%s)", buf,
	      strerror(errno));
	CHECK(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT) == 0, "no EOF after the data (%s)", strerror(errno));
	CHECK(send(sv[0], "x", 1, MSG_NOSIGNAL) == -1 && errno == EPIPE, "send to a closed peer did not fail with EPIPE");
	return cf_pass();
}
