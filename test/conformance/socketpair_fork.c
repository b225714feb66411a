/* A stream socketpair split between a parent and its child, data in flight both ways: after
 * restart each side reads what the other had sent, then they talk again; the child exits 0. */
#include "conformance.h"
#include <sys/socket.h>
#include <sys/wait.h>

int main(void)
{
	cf_start();
	int sv[2];
	OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	int go[2];
	OK(pipe(go));
	pid_t child = OK(fork());
	if (child == 0) {
		close(sv[0]);
		close(go[1]);
		if (send(sv[1], "from-child", 10, 0) != 10)
			_exit(20);
		char c;
		if (read(go[0], &c, 1) != 1) /* blocks across the checkpoint */
			_exit(21);
		char buf[16] = { 0 };
		if (recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) != 11 || memcmp(buf, "from-parent", 11))
			_exit(22);
		if (send(sv[1], "bye", 3, 0) != 3)
			_exit(23);
		_exit(0);
	}
	close(sv[1]);
	close(go[0]);
	CHECK(send(sv[0], "from-parent", 11, 0) == 11, "send: %s", strerror(errno));
	/* the child's message is queued before the checkpoint */
	for (int i = 0; i < 500; i++) {
		char c;
		if (recv(sv[0], &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1)
			break;
		cf_sleep_ms(5);
	}
	cf_wait();
	char buf[16] = { 0 };
	CHECK(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT) == 10 && !memcmp(buf, "from-child", 10), "the child's data: got '%s' (%s)", buf,
	      strerror(errno));
	CHECK(write(go[1], "g", 1) == 1, "write go: %s", strerror(errno));
	memset(buf, 0, sizeof buf);
	CHECK(recv(sv[0], buf, sizeof buf, 0) == 3 && !memcmp(buf, "bye", 3), "the child's answer: got '%s'", buf);
	CHECK(recv(sv[0], buf, sizeof buf, 0) == 0, "EOF once the child is gone");
	int st = 0;
	CHECK(waitpid(child, &st, 0) == child, "waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child ended with status %#x (22: parent's data lost)", st);
	return cf_pass();
}
