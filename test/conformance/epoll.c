/* An epoll instance keeps its registrations (events and data): an eventfd registered
 * EPOLLIN is reported with its data once it has a count, one registered for EPOLLOUT is
 * reported with its own data. */
#include "conformance.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>

int main(void)
{
	cf_start();
	int in = OK(eventfd(0, EFD_NONBLOCK)), out = OK(eventfd(0, EFD_NONBLOCK));
	int ep = OK(epoll_create1(EPOLL_CLOEXEC));
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x1122334455667788ULL };
	OK(epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev));
	struct epoll_event ev2 = { .events = EPOLLOUT, .data.u64 = 0xabcdefULL };
	OK(epoll_ctl(ep, EPOLL_CTL_ADD, out, &ev2));
	struct epoll_event got[4];
	CHECK(epoll_wait(ep, got, 4, 0) == 1 && got[0].data.u64 == 0xabcdefULL, "setup: expected only the EPOLLOUT eventfd ready");
	cf_wait();
	int n = epoll_wait(ep, got, 4, 0);
	CHECK(n == 1 && got[0].data.u64 == 0xabcdefULL && got[0].events == EPOLLOUT, "before any event: epoll_wait gave %d events (first data %#llx), expected the EPOLLOUT one", n,
	      n > 0 ? (unsigned long long)got[0].data.u64 : 0ULL);
	uint64_t one = 1;
	CHECK(write(in, &one, 8) == 8, "writing the eventfd: %s", strerror(errno));
	n = epoll_wait(ep, got, 4, 1000);
	CHECK(n == 2, "epoll_wait gave %d events, expected 2 (%s)", n, n < 0 ? strerror(errno) : "");
	int seen_in = 0;
	for (int i = 0; i < n; i++)
		if (got[i].data.u64 == 0x1122334455667788ULL && got[i].events == EPOLLIN) seen_in = 1;
	CHECK(seen_in, "the EPOLLIN eventfd was not reported with its data");
	return cf_pass();
}
