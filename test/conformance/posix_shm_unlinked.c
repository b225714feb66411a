/* POSIX shared memory opened, unlinked at once and shared by a parent and its child through
 * the descriptor and a mapping (as UCX's posix transport does): the file is gone from
 * /dev/shm, so its contents come from the image; after restart the pattern is there, both
 * still share it, and the descriptor still reaches the same memory. */
#include "conformance.h"
#include <sys/mman.h>
#include <sys/wait.h>

int main(void)
{
	cf_start();
	char name[64];
	snprintf(name, sizeof name, "/cairn-cf-u-%d-%llx", (int)getpid(), (unsigned long long)cf_nonce);
	int fd = OK(shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600));
	OK(shm_unlink(name));
	OK(ftruncate(fd, 1 << 20));
	volatile unsigned char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	for (int i = 0; i < (1 << 20); i += 4096)
		m[i] = (unsigned char)(i >> 12);
	pid_t child = OK(fork());
	if (child == 0) {
		while (m[1] != 1)
			cf_sleep_ms(5);
		for (int i = 0; i < (1 << 20); i += 4096)
			if (m[i] != (unsigned char)(i >> 12))
				_exit(10);
		m[2] = 2;
		unsigned char c = 0;
		if (pread(fd, &c, 1, 1) != 1 || c != 1)
			_exit(11);
		_exit(0);
	}
	cf_wait();
	m[1] = 1;
	int st = 0;
	CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: status %#x (10: pattern, 11: descriptor)", st);
	CHECK(m[2] == 2, "the child's write is not seen: the mapping is no longer shared");
	return cf_pass();
}
