/* A TCP listener on 127.0.0.1, port chosen by the kernel, SO_REUSEADDR set: after restart
 * getsockname gives the same port, the option is still set, and connect + accept work. */
#include "conformance.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

int main(void)
{
	cf_start();
	int l = OK(socket(AF_INET, SOCK_STREAM, 0));
	int one = 1;
	OK(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
	OK(setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	OK(bind(l, (struct sockaddr *)&a, sizeof a));
	OK(listen(l, 16));
	socklen_t alen = sizeof a;
	OK(getsockname(l, (struct sockaddr *)&a, &alen));
	cf_wait();
	struct sockaddr_in b;
	socklen_t blen = sizeof b;
	OK(getsockname(l, (struct sockaddr *)&b, &blen));
	CHECK(b.sin_port == a.sin_port && b.sin_addr.s_addr == a.sin_addr.s_addr, "bound to port %d, was %d", ntohs(b.sin_port),
	      ntohs(a.sin_port));
	int v = 0;
	socklen_t vl = sizeof v;
	OK(getsockopt(l, SOL_SOCKET, SO_REUSEADDR, &v, &vl));
	CHECK(v == 1, "SO_REUSEADDR is no longer set");
	OK(getsockopt(l, IPPROTO_TCP, TCP_NODELAY, &v, &vl));
	CHECK(v == 1, "TCP_NODELAY is no longer set");
	int c = OK(socket(AF_INET, SOCK_STREAM, 0));
	OK(connect(c, (struct sockaddr *)&a, sizeof a));
	int s = accept(l, NULL, NULL);
	CHECK(s >= 0, "accept: %s", strerror(errno));
	char buf[4] = { 0 };
	CHECK(send(c, "tcp", 3, 0) == 3 && recv(s, buf, 3, MSG_WAITALL) == 3 && !memcmp(buf, "tcp", 3), "no data through the new connection");
	return cf_pass();
}
