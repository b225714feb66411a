/* A parent with two children: one alive in its own process group, blocked until the parent
 * lets it go, sharing with the parent a file offset (fork), a pipe and a FIFO with bytes in
 * flight and an anonymous shared mapping; the other already exited (a zombie, not waited
 * for). After restart: same pids and parent, same process group, the zombie's status comes
 * back from waitpid, the bytes arrive, the FIFO ends with EOF when the child is gone, and
 * the file offset is still shared. */
#include "conformance.h"
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

int main(void)
{
	cf_start();
	int fd = OK(open("shared.txt", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
	CHECK(write(fd, "A", 1) == 1, "write A: %s", strerror(errno));
	int p[2];
	OK(pipe(p));
	volatile int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED, "mmap: %s", strerror(errno));
	const pid_t parent = getpid();
	OK(mkfifo("fifo", 0600));
	int fifo_r = OK(open("fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
	int fifo_w = OK(open("fifo", O_WRONLY | O_CLOEXEC));

	pid_t worker = OK(fork());
	if (worker == 0) {
		OK(setpgid(0, 0));
		close(p[1]);
		close(fifo_r);
		if (write(fifo_w, "fifo!", 5) != 5)
			_exit(24);
		while (shared[0] != 1)
			cf_sleep_ms(5);
		char buf[8] = { 0 };
		if (read(p[0], buf, 4) != 4 || memcmp(buf, "ping", 4))
			_exit(20);
		if (getppid() != parent)
			_exit(21);
		if (getpgid(0) != getpid())
			_exit(22);
		if (write(fd, "B", 1) != 1)   /* at the offset the parent left: one description */
			_exit(23);
		shared[0] = 2;
		_exit(7);
	}
	pid_t zombie = OK(fork());
	if (zombie == 0)
		_exit(3);
	close(p[0]);
	close(fifo_w);
	CHECK(write(p[1], "ping", 4) == 4, "write ping: %s", strerror(errno));
	for (int queued = 0; queued < 5;) {   /* the worker's bytes wait in the FIFO */
		OK(ioctl(fifo_r, FIONREAD, &queued));
		cf_sleep_ms(5);
	}
	/* the zombie is one before the checkpoint, without being waited for */
	siginfo_t si;
	memset(&si, 0, sizeof si);
	OK(waitid(P_PID, (id_t)zombie, &si, WEXITED | WNOWAIT));
	cf_wait();

	shared[0] = 1;
	int st = 0;
	CHECK(waitpid(worker, &st, 0) == worker, "waitpid(worker %d): %s", (int)worker, strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "worker ended with status %#x (20: pipe, 21: parent, 22: group, 23: write, 24: fifo)", st);
	char fb[8] = { 0 };
	CHECK(read(fifo_r, fb, sizeof fb) == 5 && !memcmp(fb, "fifo!", 5), "the FIFO gave '%s', expected 'fifo!'", fb);
	CHECK(read(fifo_r, fb, sizeof fb) == 0, "no EOF on the FIFO once its only writer is gone");
	CHECK(shared[0] == 2, "the shared mapping shows %d, the worker wrote 2", shared[0]);
	CHECK(lseek(fd, 0, SEEK_CUR) == 2, "the parent's offset is %ld: the worker's write did not move it (not shared)",
	      (long)lseek(fd, 0, SEEK_CUR));
	char buf[4] = { 0 };
	CHECK(pread(fd, buf, 3, 0) == 2 && !memcmp(buf, "AB", 2), "shared.txt holds '%s', expected 'AB'", buf);
	st = 0;
	CHECK(waitpid(zombie, &st, 0) == zombie, "waitpid(zombie %d): %s", (int)zombie, strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3, "the zombie's status is %#x, expected exit 3", st);
	CHECK(waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD, "a child that should not exist");
	return cf_pass();
}
