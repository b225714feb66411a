/* A UDP socket bound to 127.0.0.1 on a kernel-chosen port, and a second one connected to
 * it: after restart both keep their addresses, and datagrams go both ways. */
#include "conformance.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int main(void)
{
	cf_start();
	int u = OK(socket(AF_INET, SOCK_DGRAM, 0));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	OK(bind(u, (struct sockaddr *)&a, sizeof a));
	socklen_t alen = sizeof a;
	OK(getsockname(u, (struct sockaddr *)&a, &alen));
	int c = OK(socket(AF_INET, SOCK_DGRAM, 0));
	OK(connect(c, (struct sockaddr *)&a, sizeof a));
	struct sockaddr_in ca;
	socklen_t calen = sizeof ca;
	OK(getsockname(c, (struct sockaddr *)&ca, &calen));
	cf_wait();
	struct sockaddr_in b;
	socklen_t blen = sizeof b;
	OK(getsockname(u, (struct sockaddr *)&b, &blen));
	CHECK(b.sin_port == a.sin_port, "bound to port %d, was %d", ntohs(b.sin_port), ntohs(a.sin_port));
	OK(getpeername(c, (struct sockaddr *)&b, &blen));
	CHECK(b.sin_port == a.sin_port, "the connected socket's peer is port %d, was %d", ntohs(b.sin_port), ntohs(a.sin_port));
	CHECK(send(c, "dgram", 5, 0) == 5, "send: %s", strerror(errno));
	char buf[8] = { 0 };
	struct sockaddr_in from;
	socklen_t flen = sizeof from;
	CHECK(recvfrom(u, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen) == 5 && !memcmp(buf, "dgram", 5), "datagram lost");
	CHECK(from.sin_port == ca.sin_port, "the datagram came from port %d, the connected socket had %d", ntohs(from.sin_port),
	      ntohs(ca.sin_port));
	CHECK(sendto(u, "back", 4, 0, (struct sockaddr *)&from, flen) == 4 && recv(c, buf, 4, 0) == 4 && !memcmp(buf, "back", 4),
	      "the answer did not arrive");
	return cf_pass();
}
