/* A descriptor opened O_DIRECT keeps the flag and its offset; aligned reads still work. */
#include "conformance.h"

int main(void)
{
	cf_start();
	int w = OK(open("direct.dat", O_WRONLY | O_CREAT | O_TRUNC, 0644));
	static char data[16384];
	for (size_t i = 0; i < sizeof data; i++) data[i] = (char)(i / 512 + 1);
	CHECK(write(w, data, sizeof data) == sizeof data, "write");
	OK(fsync(w));
	close(w);
	int fd = open("direct.dat", O_RDONLY | O_DIRECT);
	CHECK(fd >= 0, "this file system refuses O_DIRECT: %s", strerror(errno));
	void *buf;
	CHECK(posix_memalign(&buf, 4096, 4096) == 0, "posix_memalign");
	CHECK(read(fd, buf, 4096) == 4096, "direct read: %s", strerror(errno));
	cf_wait();
	CHECK(fcntl(fd, F_GETFL) & O_DIRECT, "the descriptor lost O_DIRECT");
	CHECK(lseek(fd, 0, SEEK_CUR) == 4096, "offset is %lld, expected 4096", (long long)lseek(fd, 0, SEEK_CUR));
	CHECK(read(fd, buf, 4096) == 4096, "direct read after restore: %s", strerror(errno));
	CHECK(memcmp(buf, data + 4096, 4096) == 0, "direct read gave other data");
	return cf_pass();
}
