/* A thread blocked in epoll_wait (no timeout) on a pipe across the checkpoint: after restart
 * it is still waiting (nothing returned early), and when the main thread writes to the pipe
 * it wakes with that one event and its data. */
#include "conformance.h"
#include <pthread.h>
#include <sys/epoll.h>

static int ep, p[2];
static volatile int woke, got_n;
static volatile unsigned long long got_data;

static void *waiter(void *arg)
{
	(void)arg;
	struct epoll_event ev;
	int n;
	do
		n = epoll_wait(ep, &ev, 1, -1);
	while (n < 0 && errno == EINTR);
	got_n = n;
	got_data = ev.data.u64;
	woke = 1;
	return NULL;
}

int main(void)
{
	cf_start();
	OK(pipe(p));
	ep = OK(epoll_create1(EPOLL_CLOEXEC));
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x1234567890ULL };
	OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	pthread_t t;
	CHECK(pthread_create(&t, NULL, waiter, NULL) == 0, "pthread_create");
	cf_sleep_ms(50);
	cf_wait();
	cf_sleep_ms(200);
	CHECK(!woke, "epoll_wait returned without an event (%d)", got_n);
	CHECK(write(p[1], "x", 1) == 1, "write: %s", strerror(errno));
	for (int i = 0; i < 200 && !woke; i++)
		cf_sleep_ms(10);
	CHECK(woke, "the waiting thread did not wake on the event");
	CHECK(got_n == 1 && got_data == 0x1234567890ULL, "epoll_wait gave %d events, data %#llx", got_n, got_data);
	pthread_join(t, NULL);
	return cf_pass();
}
