/* CLOCK_REALTIME is not virtualized: after restore it agrees with the wall clock (the
 * mtime of ./go, written by the runner just before) instead of the checkpoint's time. */
#include "conformance.h"

int main(void)
{
	cf_start();
	cf_wait();
	struct stat st;
	OK(stat(cf_go, &st));
	long long now = cf_now_ns(CLOCK_REALTIME);
	long long go = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	long long d = now - go;
	CHECK(d > -1000000000LL && d < 10000000000LL, "CLOCK_REALTIME is %lld ms away from the wall clock", d / 1000000);
	return cf_pass();
}
