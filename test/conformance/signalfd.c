/* A signalfd keeps its mask: a blocked signal in the mask is read from it after restore,
 * one outside the mask is not. */
#include "conformance.h"
#include <signal.h>
#include <sys/signalfd.h>

int main(void)
{
	cf_start();
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	OK(sigprocmask(SIG_BLOCK, &s, NULL));
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	int fd = OK(signalfd(-1, &m, SFD_NONBLOCK));
	cf_wait();
	OK(raise(SIGUSR1));
	OK(raise(SIGUSR2));
	struct signalfd_siginfo si;
	CHECK(read(fd, &si, sizeof si) == sizeof si, "reading the signalfd: %s", strerror(errno));
	CHECK(si.ssi_signo == SIGUSR2, "signalfd gave signal %u, expected SIGUSR2", si.ssi_signo);
	CHECK(read(fd, &si, sizeof si) == -1 && errno == EAGAIN, "signalfd gave a signal outside its mask");
	return cf_pass();
}
