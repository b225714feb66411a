/* A child writes a long patterned stream over TCP (127.0.0.1) while the parent does not read
 * until after the checkpoint: the child is blocked in write on a full buffer then. After
 * restart the parent reads everything: every byte in order, the exact total. The child keeps
 * the connection open until the parent closes it (a writer gone early would leave a
 * half-closed connection, which is refused). */
#include "conformance.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/sockios.h>

#define TOTAL (16u << 20)

static unsigned char pattern(uint32_t i) { return (unsigned char)((i * 2654435761u) >> 24 ^ (i >> 12)); }

int main(void)
{
	cf_start();
	int l = OK(socket(AF_INET, SOCK_STREAM, 0));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	OK(bind(l, (struct sockaddr *)&a, sizeof a));
	OK(listen(l, 1));
	socklen_t alen = sizeof a;
	OK(getsockname(l, (struct sockaddr *)&a, &alen));
	pid_t child = OK(fork());
	if (child == 0) {
		close(l);
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) < 0)
			_exit(20);
		static unsigned char buf[64 << 10];
		for (uint32_t pos = 0; pos < TOTAL;) {
			uint32_t n = TOTAL - pos < sizeof buf ? TOTAL - pos : (uint32_t)sizeof buf;
			for (uint32_t k = 0; k < n; k++)
				buf[k] = pattern(pos + k);
			uint32_t done = 0;
			while (done < n) {
				ssize_t w = write(c, buf + done, n - done);
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					_exit(21);
				done += (uint32_t)w;
			}
			pos += n;
		}
		char e;
		_exit(recv(c, &e, 1, 0) == 0 ? 0 : 22); /* the parent closes its end: EOF */
	}
	int s = accept(l, NULL, NULL);
	CHECK(s >= 0, "accept: %s", strerror(errno));
	close(l);
	/* wait until the queue stops growing: the child is blocked in write */
	int last = -1, stable = 0;
	for (int i = 0; i < 1000 && stable < 10; i++) {
		int inq = 0;
		ioctl(s, SIOCINQ, &inq);
		stable = inq > 0 && inq == last ? stable + 1 : 0;
		last = inq;
		cf_sleep_ms(10);
	}
	CHECK(stable >= 10, "the child's stream never filled the buffers");
	cf_wait();
	static unsigned char buf[256 << 10];
	uint64_t total = 0;
	while (total < TOTAL) {
		size_t want = TOTAL - total < sizeof buf ? (size_t)(TOTAL - total) : sizeof buf;
		ssize_t n = recv(s, buf, want, 0);
		if (n < 0 && errno == EINTR)
			continue;
		CHECK(n > 0, "recv after %llu bytes: %s", (unsigned long long)total, n == 0 ? "EOF" : strerror(errno));
		for (ssize_t k = 0; k < n; k++)
			CHECK(buf[k] == pattern((uint32_t)(total + (uint64_t)k)), "byte %llu is %#x, should be %#x",
			      (unsigned long long)(total + (uint64_t)k), buf[k], pattern((uint32_t)(total + (uint64_t)k)));
		total += (uint64_t)n;
	}
	cf_sleep_ms(50);
	CHECK(recv(s, buf, sizeof buf, MSG_DONTWAIT) < 0 && errno == EAGAIN, "more than %u bytes", TOTAL);
	close(s);
	int st = 0;
	CHECK(waitpid(child, &st, 0) == child, "waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child ended with status %#x", st);
	return cf_pass();
}
