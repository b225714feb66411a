/* The auxiliary vector (getauxval, /proc/self/auxv) and /proc/self/exe are the same as
 * before the checkpoint. */
#include "conformance.h"
#include <sys/auxv.h>

int main(void)
{
	cf_start();
	static char auxv[4096], exe[PATH_MAX];
	size_t na = cf_read_file("/proc/self/auxv", auxv, sizeof auxv);
	OK(readlink("/proc/self/exe", exe, sizeof exe - 1));
	unsigned long pagesz = getauxval(AT_PAGESZ), entry = getauxval(AT_ENTRY), phdr = getauxval(AT_PHDR), rnd = getauxval(AT_RANDOM);
	cf_wait();
	static char auxv2[4096], exe2[PATH_MAX];
	size_t na2 = cf_read_file("/proc/self/auxv", auxv2, sizeof auxv2);
	CHECK(na2 == na && memcmp(auxv, auxv2, na) == 0, "/proc/self/auxv changed (%zu bytes, was %zu)", na2, na);
	CHECK(getauxval(AT_PAGESZ) == pagesz && getauxval(AT_ENTRY) == entry && getauxval(AT_PHDR) == phdr && getauxval(AT_RANDOM) == rnd, "getauxval values changed");
	OK(readlink("/proc/self/exe", exe2, sizeof exe2 - 1));
	CHECK(strcmp(exe, exe2) == 0, "/proc/self/exe is %s, was %s", exe2, exe);
	return cf_pass();
}
