/* The working directory: a subdirectory chdir'd into before the checkpoint is still the
 * cwd, and relative paths resolve in it. */
#include "conformance.h"

int main(void)
{
	cf_start();
	OK(mkdir("sub", 0755));
	OK(mkdir("sub/deeper", 0755));
	OK(chdir("sub/deeper"));
	cf_touch("marker");
	char want[PATH_MAX];
	CHECK(getcwd(want, sizeof want), "getcwd");
	cf_wait();
	char now[PATH_MAX];
	CHECK(getcwd(now, sizeof now), "getcwd after restore: %s", strerror(errno));
	CHECK(strcmp(now, want) == 0, "cwd is %s, expected %s", now, want);
	CHECK(cf_exists("marker"), "relative path 'marker' not found from the cwd");
	struct stat a, b;
	OK(stat(".", &a));
	OK(stat(want, &b));
	CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "'.' is not %s", want);
	return cf_pass();
}
