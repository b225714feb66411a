/* The process name set with prctl(PR_SET_NAME) is kept (/proc/self/comm too). */
#include "conformance.h"
#include <sys/prctl.h>

int main(void)
{
	cf_start();
	OK(prctl(PR_SET_NAME, "cf-renamed", 0, 0, 0));
	cf_wait();
	char name[17] = { 0 };
	OK(prctl(PR_GET_NAME, name, 0, 0, 0));
	CHECK(strcmp(name, "cf-renamed") == 0, "PR_GET_NAME is '%s', expected 'cf-renamed'", name);
	char comm[64];
	cf_read_file("/proc/self/comm", comm, sizeof comm);
	CHECK(strcmp(comm, "cf-renamed\n") == 0, "/proc/self/comm is '%.*s'", (int)strcspn(comm, "\n"), comm);
	return cf_pass();
}
