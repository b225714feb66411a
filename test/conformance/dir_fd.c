/* An open directory descriptor: still the same directory, readdir lists its entries,
 * openat works relative to it. */
#include "conformance.h"
#include <dirent.h>

int main(void)
{
	cf_start();
	OK(mkdir("d", 0755));
	cf_touch("d/alpha");
	cf_touch("d/beta");
	cf_touch("d/gamma");
	int dfd = OK(open("d", O_RDONLY | O_DIRECTORY));
	struct stat before;
	OK(fstat(dfd, &before));
	cf_wait();
	struct stat now;
	CHECK(fstat(dfd, &now) == 0, "directory fd %d is not open: %s", dfd, strerror(errno));
	CHECK(S_ISDIR(now.st_mode) && now.st_ino == before.st_ino && now.st_dev == before.st_dev, "fd %d is no longer the directory d", dfd);
	int f = openat(dfd, "beta", O_RDONLY);
	CHECK(f >= 0, "openat(dirfd, beta): %s", strerror(errno));
	close(f);
	DIR *dir = fdopendir(OK(dup(dfd)));
	CHECK(dir, "fdopendir: %s", strerror(errno));
	int seen = 0;
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (!strcmp(e->d_name, "alpha")) seen |= 1;
		if (!strcmp(e->d_name, "beta")) seen |= 2;
		if (!strcmp(e->d_name, "gamma")) seen |= 4;
	}
	CHECK(seen == 7, "readdir of the directory fd missed entries (seen mask %d)", seen);
	closedir(dir);
	return cf_pass();
}
