/* A MAP_SHARED file mapping: after restore it shows the data written before, and a
 * write through it reaches the file. */
#include "conformance.h"
#include <sys/mman.h>

#define PAGES 8

int main(void)
{
	cf_start();
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/shared.bin", cf_dir);
	int fd = OK(open(path, O_RDWR | O_CREAT | O_TRUNC, 0644));
	OK(ftruncate(fd, PAGES * pg));
	uint64_t *m = mmap(NULL, PAGES * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	close(fd);
	for (size_t i = 0; i < PAGES * pg / 8; i++) m[i] = cf_nonce + i;
	OK(msync(m, PAGES * pg, MS_SYNC));
	cf_wait();
	for (size_t i = 0; i < PAGES * pg / 8; i++) CHECK(m[i] == cf_nonce + i, "shared word %zu lost its content", i);
	m[3 * pg / 8 + 1] = 0xfeedfacecafebeefULL;
	OK(msync(m, PAGES * pg, MS_SYNC));
	fd = OK(open(path, O_RDONLY));
	uint64_t v = 0;
	CHECK(pread(fd, &v, 8, 3 * pg + 8) == 8, "pread: %s", strerror(errno));
	CHECK(v == 0xfeedfacecafebeefULL, "a write through the mapping did not reach the file (%#llx)", (unsigned long long)v);
	CHECK(pread(fd, &v, 8, 8) == 8 && v == cf_nonce + 1, "the file lost the data written before the checkpoint");
	return cf_pass();
}
