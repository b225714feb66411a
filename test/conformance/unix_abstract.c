/* A listening AF_UNIX socket with an abstract name (unique per run): after restart the same
 * name is bound to it, and a connection to the name is accepted. */
#include "conformance.h"
#include <sys/socket.h>
#include <stddef.h>
#include <sys/un.h>

int main(void)
{
	cf_start();
	int l = OK(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "cairn-cf-%016llx", (unsigned long long)cf_nonce);
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	OK(bind(l, (struct sockaddr *)&a, alen));
	OK(listen(l, 4));
	cf_wait();
	struct sockaddr_un b;
	socklen_t blen = sizeof b;
	OK(getsockname(l, (struct sockaddr *)&b, &blen));
	CHECK(blen == alen && !memcmp(&a, &b, alen), "getsockname gives another name (%u bytes, was %u)", blen, alen);
	CHECK(fcntl(l, F_GETFL) & O_NONBLOCK, "the listener lost O_NONBLOCK");
	CHECK(accept(l, NULL, NULL) == -1 && errno == EAGAIN, "a connection nobody made");
	int c = OK(socket(AF_UNIX, SOCK_STREAM, 0));
	OK(connect(c, (struct sockaddr *)&a, alen));
	int s = accept(l, NULL, NULL);
	CHECK(s >= 0, "accept: %s", strerror(errno));
	char buf[4] = { 0 };
	CHECK(send(c, "abc", 3, 0) == 3 && recv(s, buf, 3, 0) == 3 && !memcmp(buf, "abc", 3), "no data through the new connection");
	return cf_pass();
}
