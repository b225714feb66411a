/* A SysV semaphore set of 3 with values, and a child blocked in semop on the one at 0. After
 * restart: same id, key, mode and values, semop works, and the parent's semop wakes the child.
 * (A stop or ptrace interrupt makes a blocked semop return EINTR, restored or not: the child
 * retries, as every program must.) */
#include "conformance.h"
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>

union semun { int val; struct semid_ds *ds; unsigned short *arr; };

static int ncnt(int id, int n) { return semctl(id, n, GETNCNT); }

int main(void)
{
	cf_start();
	/* Ids with a sequence number: restored exactly, not just allocated again. */
	for (int i = 0; i < 3; i++)
		OK(semctl(OK(semget(IPC_PRIVATE, 1, 0600)), 0, IPC_RMID));
	const key_t key = 0x5e3a0001;
	const int id = OK(semget(key, 3, IPC_CREAT | IPC_EXCL | 0604));
	unsigned short init[3] = { 5, 0, 7 };
	union semun u = { .arr = init };
	OK(semctl(id, 0, SETALL, u));
	const int priv = OK(semget(IPC_PRIVATE, 1, 0600));
	OK(semctl(priv, 0, SETVAL, (union semun){ .val = 31 }));

	pid_t child = OK(fork());
	if (child == 0) {
		struct sembuf down = { 1, -1, 0 };
		while (semop(id, &down, 1) < 0)
			if (errno != EINTR)
				_exit(20);
		_exit(0);
	}
	for (int i = 0; ncnt(id, 1) != 1; i++) {
		CHECK(i < 500, "the child does not block on semaphore 1");
		cf_sleep_ms(10);
	}
	cf_wait();

	struct semid_ds ds;
	u.ds = &ds;
	OK(semctl(id, 0, IPC_STAT, u));
	CHECK(ds.sem_perm.__key == key, "key is %#x, was %#x", (unsigned)ds.sem_perm.__key, (unsigned)key);
	CHECK(ds.sem_nsems == 3, "nsems is %lu", (unsigned long)ds.sem_nsems);
	CHECK((ds.sem_perm.mode & 0777) == 0604, "mode is %o, was 604", ds.sem_perm.mode & 0777);
	CHECK(semget(key, 0, 0) == id, "semget(key) gives %d, the id was %d", semget(key, 0, 0), id);
	unsigned short v[3] = { 9, 9, 9 };
	u.arr = v;
	OK(semctl(id, 0, GETALL, u));
	CHECK(v[0] == 5 && v[1] == 0 && v[2] == 7, "values are %u %u %u, expected 5 0 7", v[0], v[1], v[2]);
	CHECK(semctl(priv, 0, GETVAL) == 31, "the private set holds %d, expected 31", semctl(priv, 0, GETVAL));
	struct sembuf take = { 0, -2, IPC_NOWAIT };
	OK(semop(id, &take, 1));
	CHECK(semctl(id, 0, GETVAL) == 3, "semaphore 0 is %d after taking 2 of 5", semctl(id, 0, GETVAL));
	for (int i = 0; ncnt(id, 1) != 1; i++) {
		CHECK(i < 500, "the child is not waiting on semaphore 1 after restart");
		cf_sleep_ms(10);
	}
	struct sembuf up = { 1, 1, 0 };
	OK(semop(id, &up, 1));
	int st = 0;
	CHECK(waitpid(child, &st, 0) == child, "waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child ended with %#x", st);
	CHECK(semctl(id, 1, GETVAL) == 0, "semaphore 1 is %d: the child did not take it", semctl(id, 1, GETVAL));
	return cf_pass();
}
