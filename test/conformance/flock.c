/* flock(LOCK_EX) held across the checkpoint: another open file description of the same
 * file still cannot take the lock. */
#include "conformance.h"
#include <sys/file.h>

int main(void)
{
	cf_start();
	int fd = OK(open("locked", O_RDWR | O_CREAT, 0644));
	OK(flock(fd, LOCK_EX));
	cf_wait();
	int other = OK(open("locked", O_RDWR));
	CHECK(flock(other, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK, "the flock was lost: another description took LOCK_EX");
	OK(flock(fd, LOCK_UN));
	CHECK(flock(other, LOCK_EX | LOCK_NB) == 0, "after unlocking, the lock is still held (%s)", strerror(errno));
	return cf_pass();
}
