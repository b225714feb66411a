/* A memfd with content, offset and seals (no shrink, no grow): content, offset and
 * seals are all there after restore. */
#include "conformance.h"
#include <sys/mman.h>

int main(void)
{
	cf_start();
	int fd = OK(memfd_create("cf-memfd", MFD_ALLOW_SEALING | MFD_CLOEXEC));
	char data[10000];
	for (size_t i = 0; i < sizeof data; i++) data[i] = (char)(i * 13 + (cf_nonce & 0xff));
	CHECK(write(fd, data, sizeof data) == sizeof data, "write: %s", strerror(errno));
	OK(lseek(fd, 1000, SEEK_SET));
	OK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
	cf_wait();
	int seals = fcntl(fd, F_GET_SEALS);
	CHECK(seals == (F_SEAL_SHRINK | F_SEAL_GROW), "seals are %#x (%s), expected SHRINK|GROW", seals, seals < 0 ? strerror(errno) : "");
	CHECK(lseek(fd, 0, SEEK_CUR) == 1000, "memfd offset is %lld, expected 1000", (long long)lseek(fd, 0, SEEK_CUR));
	char back[10000];
	CHECK(pread(fd, back, sizeof back, 0) == sizeof back, "pread: %s", strerror(errno));
	CHECK(memcmp(back, data, sizeof data) == 0, "memfd content differs");
	CHECK(ftruncate(fd, 10) == -1 && errno == EPERM, "shrinking a sealed memfd was allowed");
	char link[PATH_MAX] = { 0 }, p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	OK(readlink(p, link, sizeof link - 1));
	CHECK(strncmp(link, "/memfd:cf-memfd", 15) == 0, "memfd is now %s", link);
	return cf_pass();
}
