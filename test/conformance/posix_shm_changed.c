/* A POSIX shared memory file (/dev/shm) that the job keeps changing, mapped by a parent and
 * its child: the parent counts in its own memory and in the shared file at once. Between the
 * checkpoint and the kill the file moves on, so after restart the two counts agree only if
 * the file's contents came back from the image, as they were at the checkpoint. */
#include "conformance.h"
#include <sys/mman.h>
#include <sys/wait.h>

static volatile unsigned *shared;
static unsigned mine;

static void tick(void)
{
	mine++;
	shared[0] = mine;
}

int main(void)
{
	cf_start();
	char name[64];
	snprintf(name, sizeof name, "/cairn-cf-c-%d-%llx", (int)getpid(), (unsigned long long)cf_nonce);
	int fd = OK(shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600));
	OK(ftruncate(fd, 1 << 16));
	shared = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(shared != MAP_FAILED, "mmap: %s", strerror(errno));
	close(fd);
	pid_t child = OK(fork());
	if (child == 0) {
		while (shared[1] != 1)
			cf_sleep_ms(5);
		shared[2] = shared[0] + 1; /* what it sees, through its own mapping */
		_exit(0);
	}
	cf_wait_tick(tick);
	CHECK(shared[0] == mine, "the shared file says %u, the process's own count %u: the file's contents are not the checkpoint's", shared[0], mine);
	shared[1] = 1;
	int st = 0;
	CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: status %#x", st);
	CHECK(shared[2] == mine + 1, "the child saw count %u, the parent has %u: the mapping is no longer shared", shared[2] - 1, mine);
	shm_unlink(name);
	return cf_pass();
}
