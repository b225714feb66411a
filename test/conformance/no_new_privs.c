/* PR_SET_NO_NEW_PRIVS is kept (it can never be cleared, so losing it is a security
 * problem, not a detail). */
#include "conformance.h"
#include <sys/prctl.h>

int main(void)
{
	cf_start();
	OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	cf_wait();
	int v = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	CHECK(v == 1, "no_new_privs is %d, expected 1", v);
	return cf_pass();
}
