/* A POSIX record lock (F_SETLK, write lock on bytes 100..199) held across the
 * checkpoint: a child process sees it with F_GETLK, owned by this pid. */
#include "conformance.h"
#include <sys/wait.h>

int main(void)
{
	cf_start();
	int fd = OK(open("records", O_RDWR | O_CREAT, 0644));
	OK(ftruncate(fd, 4096));
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 100 };
	OK(fcntl(fd, F_SETLK, &fl));
	cf_wait();
	pid_t me = getpid();
	pid_t c = OK(fork());
	if (c == 0) {
		struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 150, .l_len = 1 };
		if (fcntl(fd, F_GETLK, &q) == -1) _exit(3);
		if (q.l_type != F_WRLCK) _exit(4);
		if (q.l_pid != me) _exit(5);
		if (q.l_start != 100 || q.l_len != 100) _exit(6);
		_exit(0);
	}
	int st = 0;
	OK(waitpid(c, &st, 0));
	CHECK(WIFEXITED(st), "the probing child died");
	CHECK(WEXITSTATUS(st) != 4, "the record lock was lost: another process sees bytes 100..199 unlocked");
	CHECK(WEXITSTATUS(st) != 5, "the record lock is no longer owned by this process");
	CHECK(WEXITSTATUS(st) == 0, "the record lock changed (probe status %d)", WEXITSTATUS(st));
	return cf_pass();
}
