/* Ignored signals (SIGUSR2, SIGTERM, SIGPIPE) stay ignored: raising them does nothing. */
#include "conformance.h"
#include <signal.h>

int main(void)
{
	cf_start();
	signal(SIGUSR2, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	cf_wait();
	static const int sigs[] = { SIGUSR2, SIGTERM, SIGPIPE };
	for (int i = 0; i < 3; i++) {
		struct sigaction old;
		OK(sigaction(sigs[i], NULL, &old));
		CHECK(old.sa_handler == SIG_IGN, "signal %d (%s) is no longer ignored", sigs[i], strsignal(sigs[i]));
		OK(kill(getpid(), sigs[i])); /* would end the process if not ignored */
	}
	struct sigaction dfl;
	OK(sigaction(SIGUSR1, NULL, &dfl));
	CHECK(dfl.sa_handler == SIG_DFL, "SIGUSR1 is no longer SIG_DFL");
	return cf_pass();
}
