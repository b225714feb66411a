/* A UNIX stream connection made by connect()/accept() inside the job (not socketpair), data
 * queued both ways and the listener still open: both ends keep their data and still talk. */
#include "conformance.h"
#include <sys/socket.h>
#include <stddef.h>
#include <sys/un.h>

int main(void)
{
	cf_start();
	int l = OK(socket(AF_UNIX, SOCK_STREAM, 0));
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "cairn-cf-conn-%016llx", (unsigned long long)cf_nonce);
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	OK(bind(l, (struct sockaddr *)&a, alen));
	OK(listen(l, 4));
	int c = OK(socket(AF_UNIX, SOCK_STREAM, 0));
	OK(connect(c, (struct sockaddr *)&a, alen));
	int s = OK(accept(l, NULL, NULL));
	CHECK(send(c, "request", 7, 0) == 7 && send(s, "reply", 5, 0) == 5, "send: %s", strerror(errno));
	cf_wait();
	char buf[16] = { 0 };
	CHECK(recv(s, buf, sizeof buf, MSG_DONTWAIT) == 7 && !memcmp(buf, "request", 7), "server side got '%s' (%s)", buf, strerror(errno));
	memset(buf, 0, sizeof buf);
	CHECK(recv(c, buf, sizeof buf, MSG_DONTWAIT) == 5 && !memcmp(buf, "reply", 5), "client side got '%s' (%s)", buf, strerror(errno));
	CHECK(send(c, "more", 4, 0) == 4 && recv(s, buf, 4, 0) == 4 && !memcmp(buf, "more", 4), "the connection no longer carries data");
	close(c);
	CHECK(recv(s, buf, 4, 0) == 0, "no EOF after the client closed");
	int c2 = OK(socket(AF_UNIX, SOCK_STREAM, 0));
	OK(connect(c2, (struct sockaddr *)&a, alen));
	CHECK(accept(l, NULL, NULL) >= 0, "the listener does not accept: %s", strerror(errno));
	return cf_pass();
}
