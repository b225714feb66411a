/* A file deleted while open: its content and the descriptor's offset are still there
 * after restore (the file cannot be reopened by path). */
#include "conformance.h"

int main(void)
{
	cf_start();
	int fd = OK(open("doomed.txt", O_RDWR | O_CREAT | O_TRUNC, 0600));
	char data[5000];
	for (size_t i = 0; i < sizeof data; i++) data[i] = (char)('a' + i % 26);
	CHECK(write(fd, data, sizeof data) == sizeof data, "write: %s", strerror(errno));
	OK(lseek(fd, 123, SEEK_SET));
	OK(unlink("doomed.txt"));
	cf_wait();
	struct stat st;
	CHECK(fstat(fd, &st) == 0, "fd %d is not open: %s", fd, strerror(errno));
	CHECK(st.st_nlink == 0, "the file has %lu links, expected a deleted file", (unsigned long)st.st_nlink);
	CHECK(st.st_size == sizeof data, "the deleted file has %lld bytes, expected %zu", (long long)st.st_size, sizeof data);
	CHECK(lseek(fd, 0, SEEK_CUR) == 123, "offset is %lld, expected 123", (long long)lseek(fd, 0, SEEK_CUR));
	char back[5000];
	CHECK(pread(fd, back, sizeof back, 0) == sizeof back && memcmp(back, data, sizeof data) == 0, "the deleted file's content differs");
	CHECK(!cf_exists("doomed.txt"), "the deleted file reappeared in the directory");
	return cf_pass();
}
