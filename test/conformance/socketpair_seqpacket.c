/* An AF_UNIX seqpacket socketpair with messages queued both ways: boundaries kept. */
#include "conformance.h"
#include <sys/socket.h>

int main(void)
{
	cf_start();
	int sv[2];
	OK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
	CHECK(send(sv[0], "alpha", 5, 0) == 5 && send(sv[0], "be", 2, 0) == 2, "send: %s", strerror(errno));
	CHECK(send(sv[1], "gamma!", 6, 0) == 6, "send back: %s", strerror(errno));
	cf_wait();
	char buf[64];
	ssize_t n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
	CHECK(n == 5 && !memcmp(buf, "alpha", 5), "first message: %zd bytes (%s)", n, strerror(errno));
	n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
	CHECK(n == 2 && !memcmp(buf, "be", 2), "second message: %zd bytes (%s)", n, strerror(errno));
	CHECK(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) == -1 && errno == EAGAIN, "a third message");
	n = recv(sv[0], buf, sizeof buf, MSG_DONTWAIT);
	CHECK(n == 6 && !memcmp(buf, "gamma!", 6), "the other way: %zd bytes (%s)", n, strerror(errno));
	int type = 0;
	socklen_t l = sizeof type;
	OK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &l));
	CHECK(type == SOCK_SEQPACKET, "socket type %d, was SOCK_SEQPACKET", type);
	return cf_pass();
}
