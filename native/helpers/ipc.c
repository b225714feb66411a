/* cairn-ipc: the SysV IPC objects (shared memory, semaphores, message queues) of a job.
 *
 *   cairn-ipc serve --pid PID     then orders on stdin: "N LEN\n" and LEN bytes of FILE
 *
 * Joins the user and IPC namespaces of PID (the job's init) and serves the agent for the
 * job's life: starting a process from Node costs several ms (more the larger the agent),
 * which every checkpoint would pay. For each order, sent once the job is frozen, it reads
 * every object of that IPC namespace without changing it (shmat read-only, semctl GETALL,
 * msgrcv MSG_COPY) and writes the blob (ipc.h) at offset N of FILE. EOF: exit 0. Prints one
 * JSON line on stdout per order:
 *   {"length":L,"crc32c":C,"objects":[{"kind":"shm","id":I,"key":K,"mode":M,"size":S},...]}
 * (length 0: the namespace has no object). Errors: one line on stderr, exit 1.
 *
 * The agent is a multi-threaded Node process and cannot setns into a user namespace, hence
 * this single-threaded helper. Joining a user namespace one's own uid owns gives every
 * capability in it, which setns into its IPC namespace and reading objects of any mode need.
 *
 * The restore side (cipc_restore) is linked into cairn-nsinit: its init has every capability
 * in the new namespaces and runs before any process of the job exists. */
#define _GNU_SOURCE
#include "ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#define PAGE 4096UL

struct msgbuf_hdr {
	long mtype;
	char mtext[];
};

static const char *kind_name(uint32_t k)
{
	return k == CIPC_SHM ? "shm" : k == CIPC_SEM ? "semaphore set" : k == CIPC_MSG ? "message queue" : "object";
}

static void say(char *err, unsigned errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int pread_all(int fd, void *buf, uint64_t len, uint64_t off)
{
	char *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len > (1u << 30) ? (1u << 30) : len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* ---------------------------------------------------------------- restore */

static int set_next_id(const char *file, int id)
{
	char path[64], v[16];
	snprintf(path, sizeof path, "/proc/sys/kernel/%s", file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int n = snprintf(v, sizeof v, "%d", id);
	ssize_t w = write(fd, v, (size_t)n);
	int e = errno;
	close(fd);
	errno = e;
	return w == n ? 0 : -1;
}

int cipc_restore(int fd, uint64_t off, uint64_t len, char *err, unsigned errlen)
{
	struct cipc_hdr h;
	if (len < sizeof h || pread_all(fd, &h, sizeof h, off) < 0) {
		say(err, errlen, "SysV IPC: cannot read the saved objects: %s", strerror(errno ? errno : EIO));
		return -1;
	}
	if (h.magic != CIPC_MAGIC || h.version != CIPC_VERSION || h.total != len || h.nobj > 1u << 20 ||
	    sizeof h + (uint64_t)h.nobj * sizeof(struct cipc_obj) > len) {
		say(err, errlen, "SysV IPC: the saved objects are damaged or of another cairn (magic/version/size)");
		return -1;
	}
	struct cipc_obj *objs = calloc(h.nobj ? h.nobj : 1, sizeof *objs);
	if (!objs || pread_all(fd, objs, (uint64_t)h.nobj * sizeof *objs, off + sizeof h) < 0) {
		say(err, errlen, "SysV IPC: cannot read the object table: %s", strerror(errno));
		free(objs);
		return -1;
	}
	int rc = -1;
	char *buf = NULL;
	for (uint32_t i = 0; i < h.nobj; i++) {
		const struct cipc_obj *o = &objs[i];
		char who[96];
		snprintf(who, sizeof who, "SysV %s key 0x%08x id %d", kind_name(o->kind), (unsigned)o->key, o->id);
		if (o->data_off > len || o->data_len > len - o->data_off) {
			say(err, errlen, "%s: saved data out of range", who);
			goto out;
		}
		free(buf);
		buf = malloc(o->kind == CIPC_SHM ? 16 * (size_t)o->count + 1 : o->data_len + 1);
		if (!buf) {
			say(err, errlen, "%s: out of memory", who);
			goto out;
		}
		const uint64_t data = off + o->data_off;
		const int flags = IPC_CREAT | IPC_EXCL | (int)(o->mode & 0777);
		const char *next = o->kind == CIPC_SHM ? "shm_next_id" : o->kind == CIPC_SEM ? "sem_next_id" : "msg_next_id";
		/* The next object of this kind gets exactly this id (the kernel resets it after use). */
		if (set_next_id(next, o->id) < 0) {
			say(err, errlen, "%s: cannot write /proc/sys/kernel/%s: %s (needs a kernel with CONFIG_CHECKPOINT_RESTORE)",
			    who, next, strerror(errno));
			goto out;
		}
		int id = -1;
		if (o->kind == CIPC_SHM) {
			id = shmget(o->key, o->size, flags);
			if (id < 0) {
				say(err, errlen, "%s: shmget(size %llu): %s", who, (unsigned long long)o->size, strerror(errno));
				goto out;
			}
		} else if (o->kind == CIPC_SEM) {
			id = semget(o->key, (int)o->size, flags);
			if (id < 0) {
				say(err, errlen, "%s: semget(%llu semaphores): %s", who, (unsigned long long)o->size, strerror(errno));
				goto out;
			}
		} else if (o->kind == CIPC_MSG) {
			id = msgget(o->key, flags);
			if (id < 0) {
				say(err, errlen, "%s: msgget: %s", who, strerror(errno));
				goto out;
			}
		} else {
			say(err, errlen, "%s: unknown kind %u", who, o->kind);
			goto out;
		}
		if (id != o->id) {
			say(err, errlen, "%s: the kernel gave id %d instead", who, id);
			goto out;
		}
		if (o->kind == CIPC_SHM) {
			struct shmid_ds ds;
			if (o->count) {
				if (pread_all(fd, buf, 16 * (uint64_t)o->count, data) < 0) {
					say(err, errlen, "%s: cannot read its contents: %s", who, strerror(errno));
					goto out;
				}
				char *a = shmat(id, NULL, 0);
				if (a == (char *)-1) {
					say(err, errlen, "%s: shmat: %s", who, strerror(errno));
					goto out;
				}
				uint64_t at = data + 16 * (uint64_t)o->count;
				for (uint32_t k = 0; k < o->count; k++) {
					uint64_t ro, rl;
					memcpy(&ro, buf + 16 * k, 8);
					memcpy(&rl, buf + 16 * k + 8, 8);
					if (ro > o->size || rl > o->size - ro || pread_all(fd, a + ro, rl, at) < 0) {
						say(err, errlen, "%s: cannot read its contents (run %u): %s", who, k, strerror(errno ? errno : EIO));
						shmdt(a);
						goto out;
					}
					at += rl;
				}
				shmdt(a);
			}
			memset(&ds, 0, sizeof ds);
			ds.shm_perm.uid = o->uid;
			ds.shm_perm.gid = o->gid;
			ds.shm_perm.mode = o->mode & 0777;
			if (shmctl(id, IPC_SET, &ds) < 0) {
				say(err, errlen, "%s: IPC_SET uid %u gid %u mode %o: %s", who, o->uid, o->gid, o->mode & 0777, strerror(errno));
				goto out;
			}
			/* Only keeps the pages in memory: best effort (RLIMIT_MEMLOCK). */
			if (o->mode & CIPC_SHM_LOCKED)
				shmctl(id, SHM_LOCK, NULL);
			/* SHM_DEST: removed by the first restorer that attaches it (plan flag). */
		} else if (o->kind == CIPC_SEM) {
			if (o->data_len < 2 * (uint64_t)o->count || o->count != o->size || pread_all(fd, buf, 2 * (uint64_t)o->count, data) < 0) {
				say(err, errlen, "%s: cannot read its values", who);
				goto out;
			}
			union semun { int val; struct semid_ds *ds; unsigned short *arr; } u;
			u.arr = (unsigned short *)buf;
			if (o->count && semctl(id, 0, SETALL, u) < 0) {
				say(err, errlen, "%s: SETALL: %s", who, strerror(errno));
				goto out;
			}
			struct semid_ds ds;
			memset(&ds, 0, sizeof ds);
			ds.sem_perm.uid = o->uid;
			ds.sem_perm.gid = o->gid;
			ds.sem_perm.mode = o->mode & 0777;
			u.ds = &ds;
			if (semctl(id, 0, IPC_SET, u) < 0) {
				say(err, errlen, "%s: IPC_SET uid %u gid %u mode %o: %s", who, o->uid, o->gid, o->mode & 0777, strerror(errno));
				goto out;
			}
		} else {
			/* Size and owner first: the messages must fit, whatever the default limits. */
			struct msqid_ds ds;
			if (msgctl(id, IPC_STAT, &ds) < 0) {
				say(err, errlen, "%s: IPC_STAT: %s", who, strerror(errno));
				goto out;
			}
			ds.msg_perm.uid = o->uid;
			ds.msg_perm.gid = o->gid;
			ds.msg_perm.mode = o->mode & 0777;
			ds.msg_qbytes = o->size;
			if (msgctl(id, IPC_SET, &ds) < 0) {
				say(err, errlen, "%s: IPC_SET uid %u gid %u mode %o qbytes %llu: %s", who, o->uid, o->gid, o->mode & 0777,
				    (unsigned long long)o->size, strerror(errno));
				goto out;
			}
			if (pread_all(fd, buf, o->data_len, data) < 0) {
				say(err, errlen, "%s: cannot read its messages: %s", who, strerror(errno));
				goto out;
			}
			uint64_t p = 0;
			for (uint32_t k = 0; k < o->count; k++) {
				int64_t type;
				uint64_t ml;
				if (o->data_len - p < 16) {
					say(err, errlen, "%s: message %u is cut short", who, k);
					goto out;
				}
				memcpy(&type, buf + p, 8);
				memcpy(&ml, buf + p + 8, 8);
				if (ml > o->data_len - p - 16) {
					say(err, errlen, "%s: message %u is cut short", who, k);
					goto out;
				}
				/* msgsnd wants the type right before the text: the 8 bytes before it are the length. */
				memcpy(buf + p + 8, &type, 8);
				if (msgsnd(id, buf + p + 8, ml, IPC_NOWAIT) < 0) {
					say(err, errlen, "%s: msgsnd of message %u (type %lld, %llu bytes): %s", who, k, (long long)type,
					    (unsigned long long)ml, strerror(errno));
					goto out;
				}
				p += 16 + ((ml + 7) & ~7ULL);
			}
		}
	}
	rc = 0;
out:
	free(buf);
	free(objs);
	return rc;
}

/* ---------------------------------------------------------------- dump */
#ifndef CIPC_NO_MAIN

#include <nmmintrin.h>

static const char *prog = "cairn-ipc";

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", prog, msg);
	exit(1);
}

static uint32_t crc_tab[256];

static uint32_t crc_soft(uint32_t c, const uint8_t *p, size_t n)
{
	if (!crc_tab[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t x = i;
			for (int k = 0; k < 8; k++)
				x = (x >> 1) ^ (0x82F63B78u & (0u - (x & 1)));
			crc_tab[i] = x;
		}
	while (n--)
		c = crc_tab[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c32, const uint8_t *p, size_t n)
{
	uint64_t c = c32;
	while (n >= 8) {
		uint64_t a;
		memcpy(&a, p, 8);
		c = _mm_crc32_u64(c, a);
		p += 8;
		n -= 8;
	}
	while (n--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return (uint32_t)c;
}

/* crc32c as the engine computes it (same polynomial and inversion as native/src/crc32c.cc). */
static uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	static int hw = -1;
	if (hw < 0)
		hw = __builtin_cpu_supports("sse4.2");
	uint32_t c = ~crc;
	c = hw ? crc_hw(c, data, len) : crc_soft(c, data, len);
	return ~c;
}

struct out {
	int fd;
	uint64_t base, pos;
	uint32_t crc;
};

static void put(struct out *w, const void *p, uint64_t n)
{
	w->crc = crc32c(w->crc, p, n);
	const char *c = p;
	while (n) {
		ssize_t r = pwrite(w->fd, c, n > (1u << 30) ? (1u << 30) : n, (off_t)(w->base + w->pos));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("cannot write to the image: %s", strerror(r < 0 ? errno : EIO));
		c += r;
		n -= (uint64_t)r;
		w->pos += (uint64_t)r;
	}
}

struct run {
	uint64_t off, len;
};

struct obj {
	struct cipc_obj h;
	void *addr;              /* shm: attached read-only */
	struct run *runs;        /* shm */
	char *data;              /* sem values, msg records */
	uint64_t swap;
};

static struct obj *objs;
static uint32_t nobj, capobj;

static struct obj *add_obj(void)
{
	if (nobj == capobj) {
		capobj = capobj ? capobj * 2 : 16;
		objs = realloc(objs, capobj * sizeof *objs);
		if (!objs)
			die("out of memory");
	}
	memset(&objs[nobj], 0, sizeof objs[nobj]);
	return &objs[nobj++];
}

static FILE *open_list(const char *name)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/sysvipc/%s", name);
	FILE *f = fopen(path, "re");
	if (!f)
		die("cannot read %s: %s", path, strerror(errno));
	char line[512];
	if (!fgets(line, sizeof line, f))   /* the column header */
		die("%s is empty", path);
	return f;
}

static int all_zero(const char *p, size_t n)
{
	const uint64_t *q = (const uint64_t *)(const void *)p;
	for (size_t i = 0; i < n / 8; i++)
		if (q[i])
			return 0;
	return 1;
}

static void read_shm(void)
{
	FILE *f = open_list("shm");
	char line[512];
	while (fgets(line, sizeof line, f)) {
		int key, id;
		unsigned mode, cpid, lpid, uid, gid, cuid, cgid;
		unsigned long size, nattch, rss, swap;
		unsigned long long at, dt, ct;
		if (sscanf(line, "%d %d %o %lu %u %u %lu %u %u %u %u %llu %llu %llu %lu %lu", &key, &id, &mode, &size, &cpid,
			   &lpid, &nattch, &uid, &gid, &cuid, &cgid, &at, &dt, &ct, &rss, &swap) != 16)
			die("cannot parse /proc/sysvipc/shm: %s", line);
		struct obj *o = add_obj();
		o->h = (struct cipc_obj){ .kind = CIPC_SHM, .id = id, .key = key, .mode = mode, .uid = uid, .gid = gid, .size = size };
		o->swap = swap;
		/* Read-only, anywhere: the job is frozen, nothing writes meanwhile. It may be marked
		 * for deletion (SHM_DEST): Linux still lets it be attached by id. */
		o->addr = shmat(id, NULL, SHM_RDONLY);
		if (o->addr == (void *)-1)
			die("SysV shm key 0x%08x id %d: shmat: %s", (unsigned)key, id, strerror(errno));
		/* Which pages hold data: mincore tells the resident ones; with some swapped out
		 * (rss does not say which) every page is read. All-zero pages are not kept. */
		const uint64_t npages = (size + PAGE - 1) / PAGE;
		unsigned char *vec = malloc(npages ? npages : 1);
		if (!vec)
			die("out of memory");
		if (swap || mincore(o->addr, npages * PAGE, vec) < 0)
			memset(vec, 1, npages);
		uint32_t cap = 0;
		for (uint64_t p = 0; p < npages; p++) {
			if (!(vec[p] & 1) || all_zero((char *)o->addr + p * PAGE, PAGE))
				continue;
			uint64_t off = p * PAGE, len = (p + 1) * PAGE > size ? size - off : PAGE;
			struct run *last = o->h.count ? &o->runs[o->h.count - 1] : NULL;
			if (last && last->off + last->len == off) {
				last->len += len;
				continue;
			}
			if (o->h.count == cap) {
				cap = cap ? cap * 2 : 16;
				o->runs = realloc(o->runs, cap * sizeof *o->runs);
				if (!o->runs)
					die("out of memory");
			}
			o->runs[o->h.count++] = (struct run){ off, len };
		}
		free(vec);
		o->h.data_len = 16 * (uint64_t)o->h.count;
		for (uint32_t k = 0; k < o->h.count; k++)
			o->h.data_len += o->runs[k].len;
	}
	fclose(f);
}

static void read_sem(void)
{
	FILE *f = open_list("sem");
	char line[512];
	while (fgets(line, sizeof line, f)) {
		int key, id;
		unsigned mode, nsems, uid, gid, cuid, cgid;
		unsigned long long ot, ct;
		if (sscanf(line, "%d %d %o %u %u %u %u %u %llu %llu", &key, &id, &mode, &nsems, &uid, &gid, &cuid, &cgid, &ot, &ct) != 10)
			die("cannot parse /proc/sysvipc/sem: %s", line);
		struct obj *o = add_obj();
		o->h = (struct cipc_obj){ .kind = CIPC_SEM, .id = id, .key = key, .mode = mode, .uid = uid, .gid = gid,
					  .count = nsems, .size = nsems, .data_len = 2 * (uint64_t)nsems };
		o->data = calloc(nsems ? nsems : 1, 2);
		if (!o->data)
			die("out of memory");
		union semun { int val; struct semid_ds *ds; unsigned short *arr; } u;
		u.arr = (unsigned short *)(void *)o->data;
		if (nsems && semctl(id, 0, GETALL, u) < 0)
			die("SysV semaphore set key 0x%08x id %d: GETALL: %s", (unsigned)key, id, strerror(errno));
	}
	fclose(f);
}

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

static void read_msg(void)
{
	FILE *f = open_list("msg");
	char line[512];
	while (fgets(line, sizeof line, f)) {
		int key, id;
		unsigned mode, lspid, lrpid, uid, gid, cuid, cgid;
		unsigned long cbytes, qnum;
		unsigned long long st, rt, ct;
		if (sscanf(line, "%d %d %o %lu %lu %u %u %u %u %u %u %llu %llu %llu", &key, &id, &mode, &cbytes, &qnum, &lspid,
			   &lrpid, &uid, &gid, &cuid, &cgid, &st, &rt, &ct) != 14)
			die("cannot parse /proc/sysvipc/msg: %s", line);
		struct msqid_ds ds;
		if (msgctl(id, IPC_STAT, &ds) < 0)
			die("SysV message queue key 0x%08x id %d: IPC_STAT: %s", (unsigned)key, id, strerror(errno));
		struct obj *o = add_obj();
		o->h = (struct cipc_obj){ .kind = CIPC_MSG, .id = id, .key = key, .mode = mode, .uid = uid, .gid = gid,
					  .count = (uint32_t)qnum, .size = ds.msg_qbytes };
		/* Records: 16 bytes of type and length per message, the text padded to 8. */
		const uint64_t cap = 24 * qnum + cbytes + 8;
		o->data = malloc(cap);
		const size_t bufsz = cbytes + 1;
		struct msgbuf_hdr *m = malloc(sizeof *m + bufsz);
		if (!o->data || !m)
			die("out of memory");
		uint64_t p = 0;
		for (unsigned long k = 0; k < qnum; k++) {
			/* MSG_COPY: the k-th message, copied, the queue left as it is. */
			ssize_t n = msgrcv(id, m, bufsz, (long)k, IPC_NOWAIT | MSG_COPY | MSG_NOERROR);
			if (n < 0)
				die("SysV message queue key 0x%08x id %d: msgrcv(MSG_COPY) of message %lu: %s%s", (unsigned)key, id, k,
				    strerror(errno), errno == ENOSYS ? " (the kernel lacks CONFIG_CHECKPOINT_RESTORE)" : "");
			if ((uint64_t)n > bufsz - 1 || p + 16 + (((uint64_t)n + 7) & ~7ULL) > cap)
				die("SysV message queue key 0x%08x id %d: message %lu is larger than the queue's byte count", (unsigned)key, id, k);
			int64_t type = m->mtype;
			uint64_t len = (uint64_t)n;
			memcpy(o->data + p, &type, 8);
			memcpy(o->data + p + 8, &len, 8);
			memcpy(o->data + p + 16, m->mtext, len);
			memset(o->data + p + 16 + len, 0, ((len + 7) & ~7ULL) - len);
			p += 16 + ((len + 7) & ~7ULL);
		}
		free(m);
		o->h.data_len = p;
	}
	fclose(f);
}

static long parse_num(const char *s, const char *opt)
{
	char *e;
	errno = 0;
	long long v = strtoll(s, &e, 10);
	if (errno || *e || e == s || v < 0)
		die("bad value for %s: %s", opt, s);
	return (long)v;
}

/* One order: "OFFSET PATHLEN\n" then PATHLEN bytes of path. 0 at EOF (no more orders). */
static int read_order(long *offset, char *out, size_t outsz)
{
	char line[64];
	size_t n = 0;
	for (;;) {
		ssize_t r = read(0, line + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("cannot read stdin: %s", strerror(errno));
		if (r == 0) {
			if (n == 0)
				return 0;
			die("orders on stdin cut short");
		}
		if (line[n] == '\n')
			break;
		if (++n == sizeof line)
			die("bad order on stdin");
	}
	line[n] = 0;
	char *sp = strchr(line, ' ');
	if (!sp)
		die("bad order on stdin: expected OFFSET PATHLEN");
	*sp = 0;
	*offset = parse_num(line, "offset");
	long len = parse_num(sp + 1, "path length");
	if (len < 1 || (size_t)len >= outsz)
		die("bad path length on stdin: %ld", len);
	for (long got = 0; got < len;) {
		ssize_t r = read(0, out + got, (size_t)(len - got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("orders on stdin cut short");
		got += r;
	}
	out[len] = 0;
	return 1;
}

/* Reads every object now and writes the blob at `offset` of `out`; one JSON line on stdout. */
static void dump_to(const char *out, long offset)
{
	int ofd = open(out, O_WRONLY | O_CLOEXEC);
	if (ofd < 0)
		die("cannot open %s: %s", out, strerror(errno));
	for (uint32_t i = 0; i < nobj; i++) {
		free(objs[i].runs);
		free(objs[i].data);
	}
	nobj = 0;
	read_shm();
	read_sem();
	read_msg();
	if (nobj == 0) {
		close(ofd);
		printf("{\"length\":0,\"crc32c\":0,\"objects\":[]}\n");
		fflush(stdout);
		return;
	}
	struct cipc_hdr h = { CIPC_MAGIC, CIPC_VERSION, nobj, 0 };
	uint64_t at = sizeof h + (uint64_t)nobj * sizeof(struct cipc_obj);
	for (uint32_t i = 0; i < nobj; i++) {
		objs[i].h.data_off = at;
		at += (objs[i].h.data_len + 7) & ~7ULL;
	}
	h.total = at;
	struct out w = { ofd, (uint64_t)offset, 0, 0 };
	put(&w, &h, sizeof h);
	for (uint32_t i = 0; i < nobj; i++)
		put(&w, &objs[i].h, sizeof objs[i].h);
	static const char zeros[8];
	for (uint32_t i = 0; i < nobj; i++) {
		struct obj *o = &objs[i];
		if (o->h.kind == CIPC_SHM) {
			put(&w, o->runs, 16 * (uint64_t)o->h.count);
			for (uint32_t k = 0; k < o->h.count; k++)
				put(&w, (char *)o->addr + o->runs[k].off, o->runs[k].len);
			shmdt(o->addr);
		} else {
			put(&w, o->data, o->h.data_len);
		}
		put(&w, zeros, ((o->h.data_len + 7) & ~7ULL) - o->h.data_len);
	}
	if (w.pos != h.total)
		die("internal error: wrote %llu bytes, planned %llu", (unsigned long long)w.pos, (unsigned long long)h.total);
	close(ofd);
	/* No fsync: the agent fsyncs the image once its metadata is written. */
	printf("{\"length\":%llu,\"crc32c\":%u,\"objects\":[", (unsigned long long)h.total, w.crc);
	for (uint32_t i = 0; i < nobj; i++) {
		const struct cipc_obj *o = &objs[i].h;
		printf("%s{\"kind\":\"%s\",\"id\":%d,\"key\":%d,\"mode\":%u,\"size\":%llu}", i ? "," : "",
		       o->kind == CIPC_SHM ? "shm" : o->kind == CIPC_SEM ? "sem" : "msg", o->id, o->key, o->mode,
		       (unsigned long long)o->size);
	}
	printf("]}\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "serve"))
		die("usage: cairn-ipc serve --pid PID (then orders on stdin)");
	long pid = -1;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--pid"))
			pid = parse_num(argv[i + 1], "--pid");
		else
			die("unknown option %s", argv[i]);
	}
	if (pid < 1)
		die("usage: cairn-ipc serve --pid PID (then orders on stdin)");
	/* Both opened first: the ns files of PID are opened with the host credentials. */
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/ns/user", pid);
	int user = open(path, O_RDONLY | O_CLOEXEC);
	if (user < 0)
		die("cannot open %s: %s", path, strerror(errno));
	snprintf(path, sizeof path, "/proc/%ld/ns/ipc", pid);
	int ipc = open(path, O_RDONLY | O_CLOEXEC);
	if (ipc < 0)
		die("cannot open %s: %s", path, strerror(errno));
	if (setns(user, CLONE_NEWUSER) < 0)
		die("cannot join the user namespace of pid %ld: %s", pid, strerror(errno));
	if (setns(ipc, CLONE_NEWIPC) < 0)
		die("cannot join the IPC namespace of pid %ld: %s", pid, strerror(errno));
	close(user);
	close(ipc);

	static char out[8192];
	long offset;
	while (read_order(&offset, out, sizeof out))
		dump_to(out, offset);
	return 0;
}
#endif
