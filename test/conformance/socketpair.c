/* A connected AF_UNIX stream socketpair with unread data both ways, one end non-blocking
 * and close-on-exec with a larger send buffer, the other shut down for writing after its
 * data: every byte comes back in order, flags and the shutdown are kept, the ends still talk. */
#include "conformance.h"
#include <sys/socket.h>

int main(void)
{
	cf_start();
	int sv[2];
	OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
	OK(fcntl(sv[1], F_SETFL, 0)); /* sv[1] blocking, no cloexec */
	OK(fcntl(sv[1], F_SETFD, 0));
	int sndbuf = 300000;
	OK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf));
	socklen_t l = sizeof sndbuf;
	OK(getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &l));
	static char big[100000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 7 + 3);
	CHECK(send(sv[0], "ping", 4, 0) == 4, "send: %s", strerror(errno));
	CHECK(send(sv[0], big, sizeof big, 0) == (ssize_t)sizeof big, "send big: %s", strerror(errno));
	CHECK(send(sv[1], "hello", 5, 0) == 5, "send back: %s", strerror(errno));
	OK(shutdown(sv[1], SHUT_WR));
	cf_wait();
	CHECK((fcntl(sv[0], F_GETFL) & O_NONBLOCK) && (fcntl(sv[0], F_GETFD) & FD_CLOEXEC), "sv[0] lost O_NONBLOCK or FD_CLOEXEC");
	CHECK(!(fcntl(sv[1], F_GETFL) & O_NONBLOCK) && !(fcntl(sv[1], F_GETFD) & FD_CLOEXEC), "sv[1] gained O_NONBLOCK or FD_CLOEXEC");
	int now = 0;
	l = sizeof now;
	OK(getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &now, &l));
	CHECK(now == sndbuf, "SO_SNDBUF is %d, was %d", now, sndbuf);
	char buf[8] = { 0 };
	CHECK(recv(sv[1], buf, 4, MSG_DONTWAIT) == 4 && !memcmp(buf, "ping", 4), "queued data lost: got '%s' (%s)", buf, strerror(errno));
	static char got[sizeof big];
	size_t have = 0;
	while (have < sizeof got) {
		ssize_t n = recv(sv[1], got + have, sizeof got - have, MSG_DONTWAIT);
		CHECK(n > 0, "big message: %zu of %zu bytes, then %zd (%s)", have, sizeof got, n, strerror(errno));
		have += (size_t)n;
	}
	CHECK(!memcmp(got, big, sizeof big), "big message corrupted");
	CHECK(recv(sv[1], buf, 1, MSG_DONTWAIT) == -1 && errno == EAGAIN, "more data than was sent");
	memset(buf, 0, sizeof buf);
	CHECK(recv(sv[0], buf, 8, 0) == 5 && !memcmp(buf, "hello", 5), "the other way: got '%s'", buf);
	CHECK(recv(sv[0], buf, 8, 0) == 0, "sv[1] was shut down for writing: expected EOF on sv[0]");
	CHECK(send(sv[1], "x", 1, MSG_NOSIGNAL) == -1 && errno == EPIPE, "sv[1] can send after shutdown(SHUT_WR)");
	CHECK(send(sv[0], "pong", 4, 0) == 4, "send after restart: %s", strerror(errno));
	CHECK(recv(sv[1], buf, 4, MSG_DONTWAIT) == 4 && !memcmp(buf, "pong", 4), "the other end did not get 'pong'");
	return cf_pass();
}
