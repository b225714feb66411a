/* A read-only regular file descriptor keeps its number, access mode and offset: reading
 * on continues exactly after the bytes read before the checkpoint. */
#include "conformance.h"

#define SIZE 100000

static char data[SIZE];

int main(void)
{
	cf_start();
	for (int i = 0; i < SIZE; i++) data[i] = (char)(i * 131 + (i >> 8));
	int w = OK(open("input.dat", O_WRONLY | O_CREAT | O_TRUNC, 0644));
	CHECK(write(w, data, SIZE) == SIZE, "write input: %s", strerror(errno));
	close(w);
	int fd = OK(open("input.dat", O_RDONLY));
	int high = OK(dup2(fd, 77)); /* a fixed number, to check numbers are kept */
	close(fd);
	char buf[4096];
	CHECK(read(high, buf, 1234) == 1234, "read: %s", strerror(errno));
	cf_wait();
	CHECK((fcntl(high, F_GETFL) & O_ACCMODE) == O_RDONLY, "fd 77 is not O_RDONLY (or not open: %s)", strerror(errno));
	off_t pos = lseek(high, 0, SEEK_CUR);
	CHECK(pos == 1234, "offset is %lld, expected 1234", (long long)pos);
	CHECK(read(high, buf, 4096) == 4096, "read after restore: %s", strerror(errno));
	CHECK(memcmp(buf, data + 1234, 4096) == 0, "read after restore did not continue at offset 1234");
	CHECK(write(high, "x", 1) == -1 && errno == EBADF, "writing a read-only descriptor did not fail with EBADF");
	return cf_pass();
}
