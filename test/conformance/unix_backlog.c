/* UNIX listeners with connections waiting in their backlog at checkpoint (not accepted
 * yet): a path stream listener with [client A, a client already closed, client B] and an
 * abstract seqpacket listener with [client C]. After restart accept() gives them in the same
 * order, A, B and C still talk to their accepted ends, the closed one reads EOF, and A's
 * O_NONBLOCK is kept. */
#include "conformance.h"
#include <sys/socket.h>
#include <stddef.h>
#include <sys/un.h>

static void talk(int client, int server, const char *what)
{
	char buf[16] = { 0 };
	CHECK(send(client, what, strlen(what), 0) == (ssize_t)strlen(what), "send from %s: %s", what, strerror(errno));
	CHECK(recv(server, buf, sizeof buf - 1, 0) == (ssize_t)strlen(what) && !strcmp(buf, what), "accepted %s got '%s'", what, buf);
	CHECK(send(server, "ok", 2, 0) == 2, "answer to %s: %s", what, strerror(errno));
	memset(buf, 0, sizeof buf);
	CHECK(recv(client, buf, 2, MSG_WAITALL) == 2 && !strcmp(buf, "ok"), "%s got '%s' back", what, buf);
}

int main(void)
{
	cf_start();
	struct sockaddr_un p = { .sun_family = AF_UNIX }, q = { .sun_family = AF_UNIX };
	strcpy(p.sun_path, "backlog.sock");
	int n = snprintf(q.sun_path + 1, sizeof q.sun_path - 1, "cairn-cf-backlog-%d", (int)getpid());
	socklen_t qlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	int l = OK(socket(AF_UNIX, SOCK_STREAM, 0));
	OK(bind(l, (struct sockaddr *)&p, sizeof p));
	OK(listen(l, 8));
	int m = OK(socket(AF_UNIX, SOCK_SEQPACKET, 0));
	OK(bind(m, (struct sockaddr *)&q, qlen));
	OK(listen(m, 8));
	int a = OK(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
	OK(connect(a, (struct sockaddr *)&p, sizeof p));
	int gone = OK(socket(AF_UNIX, SOCK_STREAM, 0));
	OK(connect(gone, (struct sockaddr *)&p, sizeof p));
	close(gone);
	int b = OK(socket(AF_UNIX, SOCK_STREAM, 0));
	OK(connect(b, (struct sockaddr *)&p, sizeof p));
	int c = OK(socket(AF_UNIX, SOCK_SEQPACKET, 0));
	OK(connect(c, (struct sockaddr *)&q, qlen));
	cf_wait();
	CHECK(fcntl(a, F_GETFL) & O_NONBLOCK, "client A lost O_NONBLOCK");
	int fl = fcntl(a, F_GETFL);
	OK(fcntl(a, F_SETFL, fl & ~O_NONBLOCK));
	int sa = OK(accept(l, NULL, NULL));
	int sg = OK(accept(l, NULL, NULL));
	int sb = OK(accept(l, NULL, NULL));
	int sc = OK(accept(m, NULL, NULL));
	talk(a, sa, "A");
	char x;
	CHECK(recv(sg, &x, 1, 0) == 0, "the closed client's connection did not read EOF");
	talk(b, sb, "B");
	talk(c, sc, "C");
	OK(fcntl(l, F_SETFL, O_NONBLOCK));
	CHECK(accept(l, NULL, NULL) < 0 && errno == EAGAIN, "a fourth connection was waiting");
	return cf_pass();
}
