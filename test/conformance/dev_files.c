/* Descriptors of /dev/null, /dev/zero and /dev/urandom keep their numbers, devices and
 * access modes, and still work. */
#include "conformance.h"
#include <sys/sysmacros.h>

int main(void)
{
	cf_start();
	int null = OK(open("/dev/null", O_WRONLY));
	int zero = OK(open("/dev/zero", O_RDONLY));
	int urnd = OK(open("/dev/urandom", O_RDONLY));
	cf_wait();
	struct { int fd; unsigned minor; int mode; const char *name; } d[] = {
		{ null, 3, O_WRONLY, "/dev/null" }, { zero, 5, O_RDONLY, "/dev/zero" }, { urnd, 9, O_RDONLY, "/dev/urandom" } };
	for (int i = 0; i < 3; i++) {
		struct stat st;
		CHECK(fstat(d[i].fd, &st) == 0, "fd %d (%s) is not open: %s", d[i].fd, d[i].name, strerror(errno));
		CHECK(S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == d[i].minor, "fd %d is device %u:%u, expected %s (1:%u)", d[i].fd,
		      major(st.st_rdev), minor(st.st_rdev), d[i].name, d[i].minor);
		CHECK((fcntl(d[i].fd, F_GETFL) & O_ACCMODE) == d[i].mode, "fd %d (%s) has a different access mode", d[i].fd, d[i].name);
	}
	CHECK(write(null, "hello", 5) == 5, "write to /dev/null: %s", strerror(errno));
	char buf[64];
	memset(buf, 1, sizeof buf);
	CHECK(read(zero, buf, sizeof buf) == sizeof buf, "read /dev/zero: %s", strerror(errno));
	for (size_t i = 0; i < sizeof buf; i++) CHECK(buf[i] == 0, "/dev/zero gave a non-zero byte");
	memset(buf, 0, sizeof buf);
	CHECK(read(urnd, buf, sizeof buf) == sizeof buf, "read /dev/urandom: %s", strerror(errno));
	int nz = 0;
	for (size_t i = 0; i < sizeof buf; i++) nz += buf[i] != 0;
	CHECK(nz > 32, "/dev/urandom gave mostly zeros");
	return cf_pass();
}
