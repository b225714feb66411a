/* An AF_UNIX datagram socketpair with messages queued both ways (one empty, one large):
 * each comes back whole, in order, with its boundaries; an SO_PEEK_OFF the program set is kept. */
#include "conformance.h"
#include <sys/socket.h>

static char big[60000];

int main(void)
{
	cf_start();
	int sv[2];
	OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 13 + 1);
	CHECK(send(sv[0], "one", 3, 0) == 3, "send one: %s", strerror(errno));
	CHECK(send(sv[0], "", 0, 0) == 0, "send empty: %s", strerror(errno));
	CHECK(send(sv[0], big, sizeof big, 0) == (ssize_t)sizeof big, "send big: %s", strerror(errno));
	CHECK(send(sv[0], "three!", 6, 0) == 6, "send three: %s", strerror(errno));
	CHECK(send(sv[1], "back", 4, 0) == 4, "send back: %s", strerror(errno));
	CHECK(send(sv[1], "again", 5, 0) == 5, "send again: %s", strerror(errno));
	int off = 0;
	OK(setsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off));
	cf_wait();
	int now = -5;
	socklen_t l = sizeof now;
	OK(getsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &now, &l));
	CHECK(now == 0, "SO_PEEK_OFF is %d, the program set 0", now);
	off = -1;
	OK(setsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off));
	static char buf[65536];
	ssize_t n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
	CHECK(n == 3 && !memcmp(buf, "one", 3), "first message: %zd bytes (%s)", n, strerror(errno));
	n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
	CHECK(n == 0, "second message (empty): %zd bytes (%s)", n, strerror(errno));
	n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
	CHECK(n == (ssize_t)sizeof big && !memcmp(buf, big, sizeof big), "third message: %zd bytes (%s)", n, strerror(errno));
	n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
	CHECK(n == 6 && !memcmp(buf, "three!", 6), "fourth message: %zd bytes", n);
	CHECK(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) == -1 && errno == EAGAIN, "a fifth message");
	n = recv(sv[0], buf, sizeof buf, MSG_DONTWAIT);
	CHECK(n == 4 && !memcmp(buf, "back", 4), "the other way, first: %zd bytes", n);
	n = recv(sv[0], buf, sizeof buf, MSG_DONTWAIT);
	CHECK(n == 5 && !memcmp(buf, "again", 5), "the other way, second: %zd bytes", n);
	CHECK(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT) == -1 && errno == EAGAIN, "a third message the other way");
	CHECK(send(sv[0], "new", 3, 0) == 3 && recv(sv[1], buf, sizeof buf, 0) == 3, "the ends no longer talk");
	return cf_pass();
}
