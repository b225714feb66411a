/* SysV shared memory: a keyed segment attached by a parent and a forked child at the same
 * address (one page left untouched, a partial last page), an IPC_PRIVATE one, and one marked
 * for deletion (IPC_RMID) while attached. After restart: same ids, keys, sizes and modes, the
 * pattern is there, the parent's write is seen by the child and the child's by the parent,
 * each segment counts its attachments, and the removed one is still removed. */
#include "conformance.h"
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>

#define SIZE (3 * 4096 + 100)

static unsigned char pat(size_t i) { return (unsigned char)(i * 7 + 3); }

static void stat_of(int id, struct shmid_ds *ds)
{
	CHECK(shmctl(id, IPC_STAT, ds) == 0, "shmctl(%d, IPC_STAT): %s", id, strerror(errno));
}

int main(void)
{
	cf_start();
	/* Ids with a sequence number and a gap: restored exactly, not just allocated again. */
	for (int i = 0; i < 3; i++)
		OK(shmctl(OK(shmget(IPC_PRIVATE, 4096, 0600)), IPC_RMID, NULL));
	OK(shmget(IPC_PRIVATE, 4096, 0600));   /* stays, unattached: comes back too */
	const key_t key = 0x5ca1ab1e;
	const int id = OK(shmget(key, SIZE, IPC_CREAT | IPC_EXCL | 0640));
	volatile unsigned char *p = shmat(id, NULL, 0);
	CHECK(p != (void *)-1, "shmat: %s", strerror(errno));
	for (size_t i = 0; i < SIZE; i++)
		if (i / 4096 != 1)   /* page 1 never touched */
			p[i] = pat(i);
	const int priv = OK(shmget(IPC_PRIVATE, 8192, 0600));
	volatile int *q = shmat(priv, NULL, 0);
	CHECK(q != (void *)-1, "shmat private: %s", strerror(errno));
	q[1000] = 4242;
	const int gone = OK(shmget(IPC_PRIVATE, 4096, 0600));
	volatile int *g = shmat(gone, NULL, 0);
	CHECK(g != (void *)-1, "shmat gone: %s", strerror(errno));
	g[0] = 777;
	OK(shmctl(gone, IPC_RMID, NULL));

	pid_t child = OK(fork());
	if (child == 0) {
		/* p[4096] (page 1) is the parent's signal, p[4097] the answer. */
		while (p[4096] != 1)
			cf_sleep_ms(5);
		for (size_t i = 0; i < SIZE; i++)
			if (i / 4096 != 1 && p[i] != pat(i))
				_exit(20);
		if (q[1000] != 4242)
			_exit(21);
		p[4097] = 2;
		_exit(0);
	}
	struct shmid_ds before;
	stat_of(id, &before);
	CHECK(before.shm_nattch == 2, "nattch %lu before the checkpoint", (unsigned long)before.shm_nattch);
	cf_wait();

	struct shmid_ds ds;
	stat_of(id, &ds);
	CHECK(ds.shm_perm.__key == key, "key is %#x, was %#x", (unsigned)ds.shm_perm.__key, (unsigned)key);
	CHECK(ds.shm_segsz == SIZE, "size is %zu, was %d", (size_t)ds.shm_segsz, SIZE);
	CHECK((ds.shm_perm.mode & 0777) == 0640, "mode is %o, was 640", ds.shm_perm.mode & 0777);
	CHECK(ds.shm_nattch == 2, "nattch is %lu, expected 2 (parent and child)", (unsigned long)ds.shm_nattch);
	CHECK(shmget(key, 0, 0) == id, "shmget(key) gives %d, the id was %d", shmget(key, 0, 0), id);
	for (size_t i = 0; i < SIZE; i++) {
		unsigned char want = i / 4096 == 1 ? 0 : pat(i);
		CHECK(p[i] == want, "byte %zu of the segment is %u, expected %u", i, p[i], want);
	}
	CHECK(q[1000] == 4242, "the private segment holds %d, expected 4242", q[1000]);
	stat_of(priv, &ds);
	CHECK(ds.shm_perm.__key == IPC_PRIVATE && ds.shm_segsz == 8192 && ds.shm_nattch == 2, "private segment: key %#x size %zu nattch %lu",
	      (unsigned)ds.shm_perm.__key, (size_t)ds.shm_segsz, (unsigned long)ds.shm_nattch);
	CHECK(g[0] == 777, "the removed segment holds %d, expected 777", g[0]);
	stat_of(gone, &ds);
	CHECK(ds.shm_perm.mode & SHM_DEST, "the removed segment is no longer marked for deletion (mode %o)", ds.shm_perm.mode);

	p[4096] = 1;
	int st = 0;
	CHECK(waitpid(child, &st, 0) == child, "waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child ended with %#x (20: pattern, 21: private segment)", st);
	CHECK(p[4097] == 2, "the child's write is not seen by the parent");
	stat_of(id, &ds);
	CHECK(ds.shm_nattch == 1, "nattch is %lu after the child exited", (unsigned long)ds.shm_nattch);
	return cf_pass();
}
