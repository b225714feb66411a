/* A MAP_PRIVATE writable file mapping with some pages dirtied: dirty pages keep the
 * program's data, clean pages show the file, and the file itself is untouched. */
#include "conformance.h"
#include <sys/mman.h>

#define PAGES 16

int main(void)
{
	cf_start();
	long pg = sysconf(_SC_PAGESIZE);
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/private.bin", cf_dir);
	int fd = OK(open(path, O_RDWR | O_CREAT | O_TRUNC, 0644));
	char *buf = malloc(PAGES * pg);
	for (long i = 0; i < PAGES * pg; i++) buf[i] = (char)(i * 7 + 3);
	CHECK(write(fd, buf, PAGES * pg) == PAGES * pg, "write: %s", strerror(errno));
	char *m = mmap(NULL, PAGES * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	close(fd);
	for (int p = 0; p < PAGES; p += 3) memset(m + p * pg + 10, (char)(0x40 + p), 100);
	cf_wait();
	for (int p = 0; p < PAGES; p++)
		for (long i = 0; i < pg; i++) {
			long o = p * pg + i;
			char want = (p % 3 == 0 && i >= 10 && i < 110) ? (char)(0x40 + p) : buf[o];
			CHECK(m[o] == want, "page %d byte %ld is %#x, expected %#x", p, i, m[o] & 0xff, want & 0xff);
		}
	fd = OK(open(path, O_RDONLY));
	char *disk = malloc(PAGES * pg);
	CHECK(read(fd, disk, PAGES * pg) == PAGES * pg, "read back: %s", strerror(errno));
	CHECK(memcmp(disk, buf, PAGES * pg) == 0, "the file changed: private writes reached it");
	m[5 * pg] = 1; /* still writable, still private */
	CHECK(pread(fd, disk, 1, 5 * pg) == 1 && disk[0] == buf[5 * pg], "a private write after restore reached the file");
	return cf_pass();
}
