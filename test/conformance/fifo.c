/* A FIFO in the working directory, opened at both ends by one process, 6 bytes in flight:
 * after restart the bytes are there, the ends are still one FIFO, the read end still
 * non-blocking, and it is still the file on disk (same inode). */
#include "conformance.h"

int main(void)
{
	cf_start();
	OK(mkfifo("fifo", 0600));
	int r = OK(open("fifo", O_RDONLY | O_NONBLOCK));
	int w = OK(open("fifo", O_WRONLY));
	CHECK(write(w, "queued", 6) == 6, "write: %s", strerror(errno));
	struct stat before;
	OK(fstat(r, &before));
	cf_wait();
	struct stat after, ondisk;
	OK(fstat(r, &after));
	OK(stat("fifo", &ondisk));
	CHECK(S_ISFIFO(after.st_mode) && after.st_ino == ondisk.st_ino, "the read end is not the FIFO on disk");
	CHECK(fcntl(r, F_GETFL) & O_NONBLOCK, "the read end is no longer non-blocking");
	CHECK(!(fcntl(w, F_GETFL) & O_NONBLOCK), "the write end became non-blocking");
	CHECK(write(w, "!", 1) == 1, "write after restart: %s", strerror(errno));
	char buf[16] = { 0 };
	CHECK(read(r, buf, sizeof buf) == 7 && !memcmp(buf, "queued!", 7), "the FIFO gave '%s', expected 'queued!'", buf);
	CHECK(read(r, buf, sizeof buf) == -1 && errno == EAGAIN, "more bytes than were written");
	return cf_pass();
}
