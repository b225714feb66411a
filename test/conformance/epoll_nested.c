/* An epoll instance that watches another epoll instance (as MPICH's UCX does): the outer
 * one reports the inner one readable once a target of the inner one has an event, and the
 * inner one reports that target with its data. */
#include "conformance.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>

int main(void)
{
	cf_start();
	int efd = OK(eventfd(0, EFD_NONBLOCK));
	int inner = OK(epoll_create1(EPOLL_CLOEXEC));
	int outer = OK(epoll_create1(EPOLL_CLOEXEC));
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x5151515151ULL };
	OK(epoll_ctl(inner, EPOLL_CTL_ADD, efd, &ev));
	struct epoll_event ev2 = { .events = EPOLLIN, .data.u64 = 0x7e7e7eULL };
	OK(epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev2));
	struct epoll_event got[4];
	CHECK(epoll_wait(outer, got, 4, 0) == 0, "setup: the outer epoll reported an event before any");
	cf_wait();
	int n = epoll_wait(outer, got, 4, 0);
	CHECK(n == 0, "before any event: the outer epoll gave %d events", n);
	uint64_t one = 1;
	CHECK(write(efd, &one, 8) == 8, "writing the eventfd: %s", strerror(errno));
	n = epoll_wait(outer, got, 4, 1000);
	CHECK(n == 1 && got[0].data.u64 == 0x7e7e7eULL && (got[0].events & EPOLLIN),
	      "the outer epoll gave %d events (first data %#llx), expected the inner epoll's", n,
	      n > 0 ? (unsigned long long)got[0].data.u64 : 0ULL);
	n = epoll_wait(inner, got, 4, 0);
	CHECK(n == 1 && got[0].data.u64 == 0x5151515151ULL, "the inner epoll gave %d events, expected the eventfd's", n);
	return cf_pass();
}
