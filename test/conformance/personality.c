/* personality(ADDR_NO_RANDOMIZE) is kept. */
#include "conformance.h"
#include <sys/personality.h>

int main(void)
{
	cf_start();
	int before = personality(0xffffffff);
	OK(personality(before | ADDR_NO_RANDOMIZE));
	cf_wait();
	int now = personality(0xffffffff);
	CHECK(now == (before | ADDR_NO_RANDOMIZE), "personality is %#x, expected %#x", now, before | ADDR_NO_RANDOMIZE);
	return cf_pass();
}
