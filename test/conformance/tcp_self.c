/* Both ends of a TCP connection over 127.0.0.1 in one process, data in flight both ways:
 * after restart the same ports, and each end reads what the other had sent, in order. */
#include "conformance.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

int main(void)
{
	cf_start();
	int l = OK(socket(AF_INET, SOCK_STREAM, 0));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	OK(bind(l, (struct sockaddr *)&a, sizeof a));
	OK(listen(l, 1));
	socklen_t alen = sizeof a;
	OK(getsockname(l, (struct sockaddr *)&a, &alen));
	int c = OK(socket(AF_INET, SOCK_STREAM, 0));
	OK(connect(c, (struct sockaddr *)&a, sizeof a));
	int s = accept(l, NULL, NULL);
	CHECK(s >= 0, "accept: %s", strerror(errno));
	close(l);
	struct sockaddr_in cn, sn, cn2, sn2;
	socklen_t n1 = sizeof cn, n2 = sizeof sn;
	OK(getsockname(c, (struct sockaddr *)&cn, &n1));
	OK(getsockname(s, (struct sockaddr *)&sn, &n2));
	CHECK(send(c, "one", 3, 0) == 3 && send(c, "two", 3, 0) == 3 && send(s, "back", 4, 0) == 4, "send: %s", strerror(errno));
	for (int i = 0; i < 500; i++) {
		int q1 = 0, q2 = 0;
		ioctl(s, SIOCINQ, &q1);
		ioctl(c, SIOCINQ, &q2);
		if (q1 == 6 && q2 == 4)
			break;
		cf_sleep_ms(5);
	}
	cf_wait();
	n1 = sizeof cn2;
	n2 = sizeof sn2;
	OK(getsockname(c, (struct sockaddr *)&cn2, &n1));
	OK(getsockname(s, (struct sockaddr *)&sn2, &n2));
	CHECK(cn.sin_port == cn2.sin_port && sn.sin_port == sn2.sin_port, "ports %d/%d, were %d/%d", ntohs(cn2.sin_port),
	      ntohs(sn2.sin_port), ntohs(cn.sin_port), ntohs(sn.sin_port));
	char buf[16] = { 0 };
	CHECK(recv(s, buf, sizeof buf, MSG_DONTWAIT) == 6 && !memcmp(buf, "onetwo", 6), "server end read '%s'", buf);
	memset(buf, 0, sizeof buf);
	CHECK(recv(c, buf, sizeof buf, MSG_DONTWAIT) == 4 && !memcmp(buf, "back", 4), "client end read '%s'", buf);
	CHECK(send(c, "x", 1, 0) == 1 && recv(s, buf, 1, MSG_WAITALL) == 1 && buf[0] == 'x', "no data through it after restart");
	return cf_pass();
}
