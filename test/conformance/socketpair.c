/* A connected AF_UNIX stream socketpair with unread data: the data is still queued and
 * the two ends still talk. */
#include "conformance.h"
#include <sys/socket.h>

int main(void)
{
	cf_start();
	int sv[2];
	OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK(send(sv[0], "ping", 4, 0) == 4, "send: %s", strerror(errno));
	cf_wait();
	char buf[8] = { 0 };
	CHECK(recv(sv[1], buf, 4, MSG_DONTWAIT) == 4 && !memcmp(buf, "ping", 4), "queued data lost: got '%s' (%s)", buf, strerror(errno));
	CHECK(send(sv[1], "pong", 4, 0) == 4, "send back: %s", strerror(errno));
	CHECK(recv(sv[0], buf, 4, MSG_DONTWAIT) == 4 && !memcmp(buf, "pong", 4), "the other end did not get 'pong'");
	return cf_pass();
}
