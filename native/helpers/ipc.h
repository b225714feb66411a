/* The SysV IPC blob of a job (cairn-ipc dump writes it, cairn-nsinit's init restores it).
 * Stored inside the main process's image at ProcessImage.sysv_ipc (offset, length, crc32c).
 * Little-endian x86_64, all offsets from the blob's first byte:
 *   struct cipc_hdr
 *   struct cipc_obj[nobj]          right after the header
 *   data of each object            at its data_off, data_len bytes:
 *     shm: count x { u64 off, u64 len } runs, then their bytes in order (pages never
 *          touched or all zero are not stored: they read as zero in the new segment)
 *     sem: count x u16 semval
 *     msg: count x { i64 mtype, u64 len, len bytes, zero padding to 8 }, queue order */
#ifndef CAIRN_IPC_H
#define CAIRN_IPC_H
#include <stdint.h>

#define CIPC_MAGIC 0x4350494e52494143ULL   /* "CAIRNIPC" */
#define CIPC_VERSION 1

enum { CIPC_SHM = 1, CIPC_SEM = 2, CIPC_MSG = 3 };

struct cipc_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t nobj;
	uint64_t total;          /* bytes of the whole blob */
};

struct cipc_obj {
	uint32_t kind;           /* CIPC_* */
	int32_t id;              /* shmid / semid / msqid, recreated the same through *_next_id */
	int32_t key;             /* 0 = IPC_PRIVATE */
	uint32_t mode;           /* perms as /proc/sysvipc shows them (shm: with SHM_DEST 01000, SHM_LOCKED 02000) */
	uint32_t uid, gid;       /* owner, in the job's user namespace */
	uint32_t count;          /* shm: runs; sem: semaphores; msg: messages */
	uint32_t pad;
	uint64_t size;           /* shm: segment bytes; sem: nsems; msg: msg_qbytes */
	uint64_t data_off, data_len;
};

#define CIPC_SHM_DEST 01000
#define CIPC_SHM_LOCKED 02000

/* Recreates every object of the blob at [off, off + len) of fd in the caller's IPC namespace
 * (the caller needs CAP_SYS_ADMIN / CAP_CHECKPOINT_RESTORE / CAP_IPC_OWNER in the user
 * namespace owning it). 0, or -1 with one line in err. */
int cipc_restore(int fd, uint64_t off, uint64_t len, char *err, unsigned errlen);

#endif
