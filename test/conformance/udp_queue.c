/* UDP datagrams waiting unread at checkpoint, between sockets of the process: to a socket
 * bound to 127.0.0.1 from two others (one bound to the wildcard address), to itself, and over
 * IPv6 loopback. After restart each is read in order, with the sender recvfrom() named
 * before, and the sockets keep their ports. */
#include "conformance.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int udp(int family, const char *addr, struct sockaddr_storage *name)
{
	int s = OK(socket(family, SOCK_DGRAM, 0));
	memset(name, 0, sizeof *name);
	socklen_t l;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)name;
		a->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &a->sin_addr);
		l = sizeof *a;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)name;
		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		l = sizeof *a;
	}
	OK(bind(s, (struct sockaddr *)name, l));
	OK(getsockname(s, (struct sockaddr *)name, &l));
	return s;
}

static socklen_t len_of(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static void expect(int s, const char *what, const struct sockaddr_storage *sender)
{
	char buf[32] = { 0 };
	struct sockaddr_storage from;
	socklen_t fl = sizeof from;
	ssize_t n = recvfrom(s, buf, sizeof buf - 1, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	CHECK(n == (ssize_t)strlen(what) && !strcmp(buf, what), "expected '%s', read %zd bytes '%s' (%s)", what, n, buf,
	      n < 0 ? strerror(errno) : "");
	uint16_t want = sender->ss_family == AF_INET ? ((const struct sockaddr_in *)sender)->sin_port : ((const struct sockaddr_in6 *)sender)->sin6_port;
	uint16_t got = from.ss_family == AF_INET ? ((struct sockaddr_in *)&from)->sin_port : ((struct sockaddr_in6 *)&from)->sin6_port;
	CHECK(from.ss_family == sender->ss_family && got == want, "'%s' came from port %u, not %u", what, ntohs(got), ntohs(want));
}

static void to(int s, const char *what, const struct sockaddr_storage *dst)
{
	CHECK(sendto(s, what, strlen(what), 0, (const struct sockaddr *)dst, len_of(dst)) == (ssize_t)strlen(what), "sendto: %s", strerror(errno));
}

int main(void)
{
	cf_start();
	struct sockaddr_storage na, nb, nc, n6a, n6b, sb;
	int a = udp(AF_INET, "127.0.0.1", &na), b = udp(AF_INET, "127.0.0.1", &nb), c = udp(AF_INET, "0.0.0.0", &nc);
	int a6 = udp(AF_INET6, "::1", &n6a), b6 = udp(AF_INET6, "::1", &n6b);
	to(a, "one", &nb);
	to(c, "two", &nb);
	to(a, "three", &nb);
	to(b, "back", &na);
	to(a, "self", &na);
	to(a6, "six", &n6b);
	socklen_t l = sizeof sb;
	OK(getsockname(b, (struct sockaddr *)&sb, &l));
	cf_wait();
	struct sockaddr_storage nc_lo = nc;
	((struct sockaddr_in *)&nc_lo)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	expect(b, "one", &na);
	expect(b, "two", &nc_lo);
	expect(b, "three", &na);
	expect(a, "back", &nb);
	expect(a, "self", &na);
	expect(b6, "six", &n6a);
	char x;
	CHECK(recv(b, &x, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN, "a fourth datagram was queued");
	struct sockaddr_storage now;
	l = sizeof now;
	OK(getsockname(b, (struct sockaddr *)&now, &l));
	CHECK(((struct sockaddr_in *)&now)->sin_port == ((struct sockaddr_in *)&sb)->sin_port, "the socket moved to another port");
	to(c, "after", &nb);
	expect(b, "after", &nc_lo);
	return cf_pass();
}
