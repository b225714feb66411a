/* A TCP listener on every address, inherited by a child (one open file description in two
 * processes, as MPICH's mpiexec passes its control port down): after restart both hold the
 * same socket, bound to the same port; a connection the child makes is accepted by the
 * parent. */
#include "conformance.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

int main(void)
{
	cf_start();
	int l = OK(socket(AF_INET, SOCK_STREAM, 0));
	struct sockaddr_in a = { .sin_family = AF_INET };
	OK(bind(l, (struct sockaddr *)&a, sizeof a));
	OK(listen(l, 16));
	socklen_t alen = sizeof a;
	OK(getsockname(l, (struct sockaddr *)&a, &alen));
	int go[2];
	OK(pipe(go));
	pid_t child = OK(fork());
	if (child == 0) {
		close(go[1]);
		char c;
		if (read(go[0], &c, 1) != 1) /* blocks across the checkpoint */
			_exit(20);
		struct sockaddr_in b;
		socklen_t blen = sizeof b;
		if (getsockname(l, (struct sockaddr *)&b, &blen) < 0 || b.sin_port != a.sin_port)
			_exit(21);
		int c2 = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = a.sin_port, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		if (c2 < 0 || connect(c2, (struct sockaddr *)&to, sizeof to) < 0)
			_exit(22);
		if (send(c2, "child", 5, 0) != 5)
			_exit(23);
		_exit(0);
	}
	close(go[0]);
	cf_wait();
	struct sockaddr_in b;
	socklen_t blen = sizeof b;
	OK(getsockname(l, (struct sockaddr *)&b, &blen));
	CHECK(b.sin_port == a.sin_port, "bound to port %d, was %d", ntohs(b.sin_port), ntohs(a.sin_port));
	CHECK(write(go[1], "g", 1) == 1, "write go: %s", strerror(errno));
	int s = accept(l, NULL, NULL);
	CHECK(s >= 0, "accept: %s", strerror(errno));
	char buf[8] = { 0 };
	CHECK(recv(s, buf, 5, MSG_WAITALL) == 5 && !memcmp(buf, "child", 5), "the child's connection: got '%s'", buf);
	int st = 0;
	CHECK(waitpid(child, &st, 0) == child, "waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child ended with status %#x", st);
	return cf_pass();
}
