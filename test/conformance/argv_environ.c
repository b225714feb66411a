/* argv and the environment: the strings are intact in memory, and /proc/self/cmdline
 * and /proc/self/environ (which the kernel reads from the saved arg/env boundaries)
 * show the same bytes as before. */
#include "conformance.h"

extern char **environ;
static char cmdline[8192], envbuf[65536];

int main(int argc, char **argv)
{
	cf_start();
	(void)argc;
	OK(setenv("CF_ADDED", "added-after-start", 1)); /* lives on the heap, not in the env area */
	size_t nc = cf_read_file("/proc/self/cmdline", cmdline, sizeof cmdline);
	size_t ne = cf_read_file("/proc/self/environ", envbuf, sizeof envbuf);
	char arg0[PATH_MAX];
	snprintf(arg0, sizeof arg0, "%s", argv[0]);
	cf_wait();
	CHECK(strcmp(argv[0], arg0) == 0, "argv[0] is '%s', expected '%s'", argv[0], arg0);
	const char *added = getenv("CF_ADDED");
	CHECK(added && !strcmp(added, "added-after-start"), "getenv(CF_ADDED) lost");
	CHECK(getenv("PATH"), "getenv(PATH) lost");
	static char c2[8192], e2[65536];
	size_t nc2 = cf_read_file("/proc/self/cmdline", c2, sizeof c2);
	size_t ne2 = cf_read_file("/proc/self/environ", e2, sizeof e2);
	CHECK(nc2 == nc && memcmp(c2, cmdline, nc) == 0, "/proc/self/cmdline changed: '%s' (%zu bytes), was '%s' (%zu bytes)", c2, nc2, cmdline, nc);
	CHECK(ne2 == ne && memcmp(e2, envbuf, ne) == 0, "/proc/self/environ changed (%zu bytes, was %zu)", ne2, ne);
	return cf_pass();
}
