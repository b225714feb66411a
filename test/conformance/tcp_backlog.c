/* A TCP listener on 127.0.0.1 with two connections of the program waiting in its backlog
 * at checkpoint (not accepted yet, nothing sent): after restart both are accepted, each
 * client still has its own port (getsockname) and the accepted end sees that port as its
 * peer, each talks to its accepted end both ways, and no third one is waiting. */
#include "conformance.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static in_port_t port_of(int fd, int peer)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	OK(peer ? getpeername(fd, (struct sockaddr *)&a, &len) : getsockname(fd, (struct sockaddr *)&a, &len));
	return ntohs(a.sin_port);
}

static void talk(int client, int server, const char *what)
{
	char buf[16] = { 0 };
	CHECK(send(client, what, strlen(what), 0) == (ssize_t)strlen(what), "send from %s: %s", what, strerror(errno));
	CHECK(recv(server, buf, strlen(what), MSG_WAITALL) == (ssize_t)strlen(what) && !strcmp(buf, what), "accepted %s got '%s'", what, buf);
	CHECK(send(server, "ok", 2, 0) == 2, "answer to %s: %s", what, strerror(errno));
	memset(buf, 0, sizeof buf);
	CHECK(recv(client, buf, 2, MSG_WAITALL) == 2 && !strcmp(buf, "ok"), "%s got '%s' back", what, buf);
}

int main(void)
{
	cf_start();
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int l = OK(socket(AF_INET, SOCK_STREAM, 0));
	OK(bind(l, (struct sockaddr *)&a, sizeof a));
	OK(listen(l, 8));
	socklen_t alen = sizeof a;
	OK(getsockname(l, (struct sockaddr *)&a, &alen));
	int c1 = OK(socket(AF_INET, SOCK_STREAM, 0));
	OK(connect(c1, (struct sockaddr *)&a, sizeof a));
	int c2 = OK(socket(AF_INET, SOCK_STREAM, 0));
	OK(connect(c2, (struct sockaddr *)&a, sizeof a));
	in_port_t p1 = port_of(c1, 0), p2 = port_of(c2, 0);
	cf_wait();
	CHECK(port_of(c1, 0) == p1 && port_of(c2, 0) == p2, "the clients' ports changed: %d %d, were %d %d", port_of(c1, 0),
	      port_of(c2, 0), p1, p2);
	int s1 = OK(accept(l, NULL, NULL));
	int s2 = OK(accept(l, NULL, NULL));
	/* accept() gives them in some order: match each accepted end to its client by port */
	if (port_of(s1, 1) == p2) {
		int t = s1;
		s1 = s2;
		s2 = t;
	}
	CHECK(port_of(s1, 1) == p1 && port_of(s2, 1) == p2, "accepted ends see peers %d %d, not %d %d", port_of(s1, 1),
	      port_of(s2, 1), p1, p2);
	talk(c1, s1, "one");
	talk(c2, s2, "two");
	OK(fcntl(l, F_SETFL, O_NONBLOCK));
	CHECK(accept(l, NULL, NULL) < 0 && errno == EAGAIN, "a third connection was waiting");
	return cf_pass();
}
