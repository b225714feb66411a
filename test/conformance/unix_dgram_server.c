/* A UNIX datagram server (bound to a relative path) with two clients connected to it but not
 * it to them, and datagrams from both queued unread at checkpoint. After restart the server
 * reads them in order, the clients are still connected to it by name, and what they send
 * arrives. A third client has an autobound (abstract) name: its datagram still comes from
 * that name. */
#include "conformance.h"
#include <sys/socket.h>
#include <sys/un.h>

static void expect(int s, const char *what)
{
	char buf[32] = { 0 };
	ssize_t n = recv(s, buf, sizeof buf - 1, MSG_DONTWAIT);
	CHECK(n == (ssize_t)strlen(what) && !strcmp(buf, what), "expected '%s', read %zd bytes '%s' (%s)", what, n, buf,
	      n < 0 ? strerror(errno) : "");
}

int main(void)
{
	cf_start();
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	strcpy(a.sun_path, "dgs.sock");
	int srv = OK(socket(AF_UNIX, SOCK_DGRAM, 0));
	OK(bind(srv, (struct sockaddr *)&a, sizeof a));
	int c1 = OK(socket(AF_UNIX, SOCK_DGRAM, 0)), c2 = OK(socket(AF_UNIX, SOCK_DGRAM, 0));
	OK(connect(c1, (struct sockaddr *)&a, sizeof a));
	OK(connect(c2, (struct sockaddr *)&a, sizeof a));
	CHECK(send(c1, "one", 3, 0) == 3 && send(c2, "two", 3, 0) == 3 && send(c1, "three", 5, 0) == 5, "send: %s", strerror(errno));
	int c3 = OK(socket(AF_UNIX, SOCK_DGRAM, 0));
	struct sockaddr_un auto_name = { .sun_family = AF_UNIX };
	OK(bind(c3, (struct sockaddr *)&auto_name, sizeof(sa_family_t)));   /* autobind: "\0xxxxx" */
	socklen_t al = sizeof auto_name;
	OK(getsockname(c3, (struct sockaddr *)&auto_name, &al));
	OK(connect(c3, (struct sockaddr *)&a, sizeof a));
	CHECK(send(c3, "auto", 4, 0) == 4, "send from c3: %s", strerror(errno));
	cf_wait();
	expect(srv, "one");
	expect(srv, "two");
	expect(srv, "three");
	struct sockaddr_un who;
	socklen_t wl = sizeof who;
	char got[8] = { 0 };
	CHECK(recvfrom(srv, got, sizeof got - 1, MSG_DONTWAIT, (struct sockaddr *)&who, &wl) == 4 && !strcmp(got, "auto"), "expected 'auto', got '%s'", got);
	CHECK(wl == al && !memcmp(&who, &auto_name, al), "'auto' no longer comes from its sender's autobound name");
	char buf[4];
	CHECK(recv(srv, buf, sizeof buf, MSG_DONTWAIT) < 0 && errno == EAGAIN, "a fourth datagram was queued");
	struct sockaddr_un p;
	socklen_t pl = sizeof p;
	OK(getpeername(c2, (struct sockaddr *)&p, &pl));
	const char *tail = p.sun_path + strlen(p.sun_path) - strlen("dgs.sock");
	CHECK(strlen(p.sun_path) >= strlen("dgs.sock") && !strcmp(tail, "dgs.sock"), "client 2 is connected to '%s'", p.sun_path);
	CHECK(send(c2, "four", 4, 0) == 4 && send(c1, "five", 4, 0) == 4, "send after restart: %s", strerror(errno));
	expect(srv, "four");
	expect(srv, "five");
	return cf_pass();
}
