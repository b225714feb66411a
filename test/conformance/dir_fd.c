/* An open directory descriptor: still the same directory, readdir lists its entries,
 * openat works relative to it. A second one, read part way when the job is checkpointed,
 * goes on where it was: the rest of the entries, none listed twice. */
#include "conformance.h"
#include <dirent.h>

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* One getdents64 of at most `len` bytes; each name read adds its bit to *seen (a name seen
 * twice fails). Returns the bytes read. */
static long read_some(int fd, size_t len, int *seen)
{
	static const char *names[] = { ".", "..", "alpha", "beta", "gamma" };
	char buf[512];
	long n = syscall(SYS_getdents64, fd, buf, len);
	CHECK(n >= 0, "getdents64: %s", strerror(errno));
	for (long at = 0; at < n;) {
		struct linux_dirent64 *e = (struct linux_dirent64 *)(buf + at);
		for (int k = 0; k < 5; k++) {
			if (strcmp(e->d_name, names[k])) continue;
			CHECK(!(*seen & (1 << k)), "readdir listed %s twice: it started again from the directory's start", names[k]);
			*seen |= 1 << k;
		}
		at += e->d_reclen;
	}
	return n;
}

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
	/* Two entries' worth (24 bytes each for "." and ".."): the rest is left to read. */
	int part = OK(open("d", O_RDONLY | O_DIRECTORY));
	int part_seen = 0;
	CHECK(read_some(part, 48, &part_seen) > 0, "the first getdents64 read nothing");
	const off_t where = OK(lseek(part, 0, SEEK_CUR));
	cf_wait();
	CHECK(lseek(part, 0, SEEK_CUR) == where, "the directory's position is %lld, not %lld", (long long)lseek(part, 0, SEEK_CUR), (long long)where);
	while (read_some(part, 512, &part_seen) > 0) {
	}
	CHECK(part_seen == 31, "reading the rest of the directory missed entries (seen mask %d)", part_seen);
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
