/* A TCP connection over 127.0.0.1 between a parent and its forked child (listen, connect,
 * accept; the parent keeps its listener, without SO_REUSEADDR), data in flight both ways:
 * after restart both ends have the same addresses and ports, TCP_NODELAY is still set, every
 * byte arrives in order, the listener still accepts; the child exits 0. */
#include "conformance.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/sockios.h>

static int same(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
}

static void names(int fd, struct sockaddr_in *me, struct sockaddr_in *peer)
{
	socklen_t l = sizeof *me;
	OK(getsockname(fd, (struct sockaddr *)me, &l));
	l = sizeof *peer;
	OK(getpeername(fd, (struct sockaddr *)peer, &l));
}

static int recv_all(int fd, char *buf, int n)
{
	return (int)recv(fd, buf, (size_t)n, MSG_WAITALL);
}

int main(void)
{
	cf_start();
	int l = OK(socket(AF_INET, SOCK_STREAM, 0));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	OK(bind(l, (struct sockaddr *)&a, sizeof a));
	OK(listen(l, 4));
	socklen_t alen = sizeof a;
	OK(getsockname(l, (struct sockaddr *)&a, &alen));
	int go[2];
	OK(pipe(go));
	pid_t child = OK(fork());
	if (child == 0) {
		close(l);
		close(go[1]);
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) < 0)
			_exit(20);
		struct sockaddr_in me, peer, me2, peer2;
		names(c, &me, &peer);
		if (send(c, "from-child", 10, 0) != 10)
			_exit(21);
		char g;
		if (read(go[0], &g, 1) != 1) /* blocks across the checkpoint */
			_exit(22);
		names(c, &me2, &peer2);
		if (!same(&me, &me2) || !same(&peer, &peer2))
			_exit(23);
		char buf[16] = { 0 };
		if (recv_all(c, buf, 11) != 11 || memcmp(buf, "from-parent", 11))
			_exit(24);
		if (send(c, "bye", 3, 0) != 3)
			_exit(25);
		_exit(0);
	}
	close(go[0]);
	int s = accept(l, NULL, NULL);
	CHECK(s >= 0, "accept: %s", strerror(errno));
	int one = 1;
	OK(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
	struct sockaddr_in me, peer, me2, peer2;
	names(s, &me, &peer);
	CHECK(send(s, "from-parent", 11, 0) == 11, "send: %s", strerror(errno));
	/* the child's data is queued here before the checkpoint */
	for (int i = 0; i < 500; i++) {
		int inq = 0;
		ioctl(s, SIOCINQ, &inq);
		if (inq == 10)
			break;
		cf_sleep_ms(5);
	}
	cf_wait();
	names(s, &me2, &peer2);
	CHECK(same(&me, &me2), "local address %s:%d, was port %d", inet_ntoa(me2.sin_addr), ntohs(me2.sin_port), ntohs(me.sin_port));
	CHECK(same(&peer, &peer2), "peer address %s:%d, was port %d", inet_ntoa(peer2.sin_addr), ntohs(peer2.sin_port),
	      ntohs(peer.sin_port));
	int v = 0;
	socklen_t vl = sizeof v;
	OK(getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &vl));
	CHECK(v == 1, "TCP_NODELAY is no longer set");
	char buf[16] = { 0 };
	CHECK(recv(s, buf, sizeof buf, MSG_DONTWAIT) == 10 && !memcmp(buf, "from-child", 10), "the child's data: got '%s' (%s)", buf,
	      strerror(errno));
	CHECK(write(go[1], "g", 1) == 1, "write go: %s", strerror(errno));
	memset(buf, 0, sizeof buf);
	CHECK(recv_all(s, buf, 3) == 3 && !memcmp(buf, "bye", 3), "the child's answer: got '%s'", buf);
	CHECK(recv(s, buf, sizeof buf, 0) == 0, "EOF once the child is gone");
	int st = 0;
	CHECK(waitpid(child, &st, 0) == child, "waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child ended with status %#x (23: its names changed, 24: parent's data lost)", st);
	/* the listener still works on its port */
	struct sockaddr_in b;
	socklen_t blen = sizeof b;
	OK(getsockname(l, (struct sockaddr *)&b, &blen));
	CHECK(same(&a, &b), "listener on port %d, was %d", ntohs(b.sin_port), ntohs(a.sin_port));
	int c = OK(socket(AF_INET, SOCK_STREAM, 0));
	OK(connect(c, (struct sockaddr *)&a, sizeof a));
	int s2 = accept(l, NULL, NULL);
	CHECK(s2 >= 0, "accept after restart: %s", strerror(errno));
	return cf_pass();
}
