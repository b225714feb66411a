/* A descriptor numbered above 1024 (RLIMIT_NOFILE raised to allow it) keeps its number
 * and its file. */
#include "conformance.h"
#include <sys/resource.h>

int main(void)
{
	cf_start();
	struct rlimit rl;
	OK(getrlimit(RLIMIT_NOFILE, &rl));
	CHECK(rl.rlim_max >= 3000, "hard RLIMIT_NOFILE is only %llu", (unsigned long long)rl.rlim_max);
	rl.rlim_cur = 3000;
	OK(setrlimit(RLIMIT_NOFILE, &rl));
	int w = OK(open("high.txt", O_RDWR | O_CREAT | O_TRUNC, 0644));
	CHECK(write(w, "0123456789", 10) == 10, "write");
	int fd = OK(dup2(w, 2500));
	close(w);
	OK(lseek(fd, 4, SEEK_SET));
	struct stat before;
	OK(fstat(fd, &before));
	cf_wait();
	struct stat now;
	CHECK(fstat(2500, &now) == 0, "fd 2500 is not open: %s", strerror(errno));
	CHECK(now.st_ino == before.st_ino, "fd 2500 is another file");
	char c;
	CHECK(read(2500, &c, 1) == 1 && c == '4', "fd 2500 is not at offset 4");
	return cf_pass();
}
