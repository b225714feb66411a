/* Resource limits set before the checkpoint (NOFILE, STACK, CORE, NPROC soft values and
 * a lowered NOFILE hard limit) are the process's limits after restore. */
#include "conformance.h"
#include <sys/resource.h>

static const int res[] = { RLIMIT_NOFILE, RLIMIT_STACK, RLIMIT_CORE, RLIMIT_NPROC, RLIMIT_DATA };
static const char *names[] = { "NOFILE", "STACK", "CORE", "NPROC", "DATA" };
#define N 5

int main(void)
{
	cf_start();
	struct rlimit want[N];
	for (int i = 0; i < N; i++) OK(getrlimit(res[i], &want[i]));
	want[0].rlim_cur = 200;
	if (want[0].rlim_max > 4000) want[0].rlim_max = 4000; /* lowering a hard limit is allowed */
	want[1].rlim_cur = 6 << 20;
	want[2].rlim_cur = 0;
	if (want[3].rlim_cur == RLIM_INFINITY || want[3].rlim_cur > 1000) want[3].rlim_cur = want[3].rlim_max == RLIM_INFINITY || want[3].rlim_max > 1000 ? 1000 : want[3].rlim_max;
	want[4].rlim_cur = want[4].rlim_max == RLIM_INFINITY ? (64ULL << 30) : want[4].rlim_max;
	for (int i = 0; i < N; i++) CHECK(setrlimit(res[i], &want[i]) == 0, "setrlimit %s: %s", names[i], strerror(errno));
	cf_wait();
	for (int i = 0; i < N; i++) {
		struct rlimit now;
		OK(getrlimit(res[i], &now));
		CHECK(now.rlim_cur == want[i].rlim_cur && now.rlim_max == want[i].rlim_max, "RLIMIT_%s is %llu/%llu, expected %llu/%llu", names[i],
		      (unsigned long long)now.rlim_cur, (unsigned long long)now.rlim_max, (unsigned long long)want[i].rlim_cur, (unsigned long long)want[i].rlim_max);
	}
	return cf_pass();
}
