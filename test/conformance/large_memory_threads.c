/* A process of three threads and 192 MiB of memory (large enough that the restorer fills it
 * with a helper thread) comes back with exactly its own threads, the same thread ids, and
 * every byte of its memory: pages of pseudo-random data, some left untouched (zeros), and
 * a read-only stretch. */
#include "conformance.h"
#include <dirent.h>
#include <pthread.h>
#include <sys/mman.h>

#define MIB (1024UL * 1024UL)
#define SIZE (192 * MIB)

static volatile int started, checked;
static pid_t tids[3];

static uint64_t next(uint64_t *s) { *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17; return *s; }

static void *thread_main(void *arg)
{
	tids[(intptr_t)arg] = cf_gettid();
	__atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&checked, __ATOMIC_SEQ_CST)) cf_sleep_ms(20); /* alive until counted */
	return NULL;
}

/* The ids in /proc/self/task, sorted, into out; returns how many. */
static int task_ids(pid_t *out, int cap)
{
	DIR *d = opendir("/proc/self/task");
	CHECK(d, "opendir /proc/self/task: %s", strerror(errno));
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.' && n < cap) out[n++] = (pid_t)atoi(e->d_name);
	closedir(d);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && out[j - 1] > out[j]; j--) { pid_t x = out[j]; out[j] = out[j - 1]; out[j - 1] = x; }
	return n;
}

/* Every 8th MiB stays untouched; the last 16 MiB become read-only. */
static void fill(uint64_t *m, int check)
{
	uint64_t seed = 0x2545F4914F6CDD1DULL;
	for (size_t i = 0; i < SIZE / 8; i++) {
		uint64_t want = (i * 8 / MIB) % 8 == 3 ? 0 : next(&seed);
		if (!check) m[i] = want;
		else CHECK(m[i] == want, "memory differs at +%#zx: %#llx, expected %#llx", i * 8, (unsigned long long)m[i], (unsigned long long)want);
	}
}

int main(void)
{
	cf_start();
	uint64_t *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	fill(m, 0);
	OK(mprotect((char *)m + SIZE - 16 * MIB, 16 * MIB, PROT_READ));
	tids[0] = cf_gettid();
	pthread_t t[3];
	for (int i = 1; i <= 2; i++) CHECK(pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)i) == 0, "pthread_create");
	while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 2) cf_sleep_ms(5);
	pid_t before[8];
	CHECK(task_ids(before, 8) == 3, "3 threads expected before the checkpoint");
	cf_wait();
	pid_t after[8];
	int n = task_ids(after, 8);
	CHECK(n == 3, "the process has %d threads after restore, expected 3 (%d %d %d %d)", n, after[0], after[1], after[2], n > 3 ? after[3] : 0);
	for (int i = 0; i < 3; i++) CHECK(after[i] == before[i], "thread id %d came back as %d", before[i], after[i]);
	fill(m, 1);
	__atomic_store_n(&checked, 1, __ATOMIC_SEQ_CST);
	for (int i = 1; i <= 2; i++) pthread_join(t[i], NULL);
	return cf_pass();
}
