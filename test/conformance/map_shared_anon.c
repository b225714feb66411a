/* A MAP_SHARED|MAP_ANONYMOUS region (shmem, shared with children) keeps its data, and is
 * still shared with a child forked after restore. */
#include "conformance.h"
#include <sys/mman.h>
#include <sys/wait.h>

int main(void)
{
	cf_start();
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	volatile uint64_t *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	for (size_t i = 0; i < 4 * pg / 8; i += 7) m[i] = cf_nonce ^ i;
	cf_wait();
	for (size_t i = 0; i < 4 * pg / 8; i += 7) CHECK(m[i] == (cf_nonce ^ i), "shared anonymous word %zu lost its content", i);
	pid_t c = OK(fork());
	if (c == 0) {
		m[1] = 0x5eed;
		_exit(0);
	}
	OK(waitpid(c, NULL, 0));
	CHECK(m[1] == 0x5eed, "a child's write is not visible: the region is no longer shared");
	return cf_pass();
}
