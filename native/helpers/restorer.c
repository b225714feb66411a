/* cairn-restorer: static, no libc, linked at RESTORER_BASE. Rebuilds one process from the
 * flat plan (native/include/plan.h) as that process itself (same PID), then stops every
 * thread on an int3 so the agent can load registers. Contract: docs/ENGINE.md.
 *
 * Everything the restorer owns lives inside [RESTORER_BASE, +RESTORER_SPAN), which the
 * agent unmaps in one injected munmap once the threads are parked:
 *   BASE                 its own text/data/bss
 *   PLAN_AREA            an anonymous copy of the plan
 *   MAIN_STACK           the main thread's stack (not in .bss: anonymize_self copies the
 *                        restorer's file-backed pages, and a stack there would lose every
 *                        write made between that copy and the mremap over it)
 *   RESTORER_TMP_VDSO    its vvar/vvar_vclock/vdso while the target's memory goes in
 *   FILL_STACKS          one small stack per memory-fill helper thread
 *   STACK_AREA           one small stack per extra thread
 *   VERIFY_AREA          one buffer per reading thread: pages read back to check them
 *   CHUNK_STATE          one byte per chunk of memory to fill: who took it
 *   COPY_AREA            scratch for turning its own file mappings into anonymous ones */
#include "nolibc.h"
#include "plan.h"

#define PAGE 4096UL
#define PLAN_AREA (RESTORER_BASE + 0x40000000ULL)
#define PLAN_AREA_MAX 0x40000000ULL
#define MAIN_STACK (RESTORER_BASE + 0x90000000ULL)
#define MAIN_STACK_SIZE 0x40000UL
#define FILL_STACKS (RESTORER_BASE + 0x98000000ULL)
#define STACK_AREA (RESTORER_BASE + 0xA0000000ULL)
#define THREAD_STACK 0x10000UL
#define THREAD_STRIDE (THREAD_STACK + PAGE) /* an unmapped guard page between stacks */
#define VERIFY_AREA (RESTORER_BASE + 0xC0000000ULL)
#define VERIFY_BUF (2UL << 20) /* one huge page */
#define CHUNK_STATE (RESTORER_BASE + 0xD0000000ULL)
#define CHUNK_STATE_MAX 0x10000000ULL
#define COPY_AREA (RESTORER_BASE + 0xE0000000ULL)
#define SPAN_END (RESTORER_BASE + RESTORER_SPAN)
#define USER_TOP 0x7ffffffff000UL /* TASK_SIZE with 4-level paging */
#define MAX_IO 0x40000000UL       /* per pread: below the kernel's 2 GiB cap */

extern char _end[];

static struct plan_hdr hdr0;  /* header as first read, before the plan is mapped */
static const struct plan_hdr *H;
static const u8 *P;           /* the whole plan */
static const struct plan_thread *T;
static const struct plan_vma *V;
static const struct plan_run *R;
static const struct plan_fd *F;
static const plan_u32 *C;      /* page crcs (plan_run.crc_first) */
static int log_fd = RFD_LOG, plan_fd = RFD_PLAN, image_fd = -1;
static int pages_fd = -1;     /* VMA page runs: the image, or a passed memfd of decompressed pages */
/* The image opened again with O_DIRECT, for page runs: the disk writes straight into the
 * job's pages. A buffered read copies through the job's page tables, which on a
 * paravirtualized kernel costs like a fault per page: 1.6 s per GiB from the page cache
 * against 0.5 s per GiB direct from the disk, measured on the test VM. -1: buffered. */
static int pages_direct = -1;
static int pages_mem;         /* pages_fd is that memfd: free what has been read */
static volatile int threads_ready;

static void __attribute__((noreturn)) fail_at(const char *what, const char *path, u64 addr, int has_addr, long r)
{
	struct line l = { .n = 0 };
	ln_s(&l, "[restorer] pid ");
	ln_d(&l, sys_getpid());
	ln_s(&l, " FAIL: ");
	ln_s(&l, what);
	if (path) {
		ln_s(&l, " ");
		ln_s(&l, path);
	}
	if (has_addr) {
		ln_s(&l, " ");
		ln_x(&l, addr);
	}
	ln_s(&l, " r=");
	ln_d(&l, r);
	ln_write(log_fd, &l);
	sys_exit_group(42);
}
#define fail_s(what, path, r) fail_at(what, path, 0, 0, r)
#define fail_x(what, addr, r) fail_at(what, NULL, addr, 1, r)

static const char *str(u32 off)
{
	if (!off)
		return NULL;
	if ((u64)off >= H->total_size - H->str_off)
		fail_x("plan string offset out of range", off, 0);
	return (const char *)(P + H->str_off + off);
}

/* [off, off + len) of fd into buf: 0, or the error (-EIO: cut short) with *at where it stopped. */
static long pread_all(int fd, void *buf, u64 len, u64 off, u8 **at)
{
	u8 *p = buf;
	while (len) {
		long n = sys_pread(fd, p, len < MAX_IO ? len : MAX_IO, off);
		if (n == -EINTR)
			continue;
		if (n <= 0) {
			*at = p;
			return n ? n : -5 /* EIO: image cut short */;
		}
		p += n;
		len -= (u64)n;
		off += (u64)n;
	}
	return 0;
}

static void pread_full(int fd, void *buf, u64 len, u64 off, const char *what)
{
	u8 *at;
	long e = pread_all(fd, buf, len, off, &at);
	if (e)
		fail_x(what, (u64)(ul)at, e);
}

/* ---- /proc/self/maps, streamed: the restorer has no idea how many mappings exist ---- */

struct mapent {
	ul s, e;
	int prot;
	const char *path; /* "" for anonymous */
};

/* Calls cb for each line until it returns non-zero (then returns that value). Callers
 * that change the address space stop the scan and start a new one. */
static int maps_scan(int (*cb)(const struct mapent *, void *), void *ctx)
{
	static char buf[16384];
	long fd = sys_open("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		fail_s("open", "/proc/self/maps", fd);
	ul have = 0;
	int res = 0, eof = 0;
	while (!res) {
		if (!eof && have < sizeof buf - 1) {
			long n = sys_read((int)fd, buf + have, sizeof buf - 1 - have);
			if (n < 0)
				fail_s("read", "/proc/self/maps", n);
			if (n == 0)
				eof = 1;
			have += (ul)n;
		}
		buf[have] = 0;
		char *nl = buf;
		while (nl < buf + have && *nl != '\n')
			nl++;
		if (nl == buf + have) {
			if (!eof && have < sizeof buf - 1)
				continue;
			if (have == 0)
				break;
			if (!eof)
				fail_s("line too long in", "/proc/self/maps", 0);
		}
		*nl = 0;
		const char *p = buf;
		struct mapent m;
		m.s = parse_hex(&p);
		p++;
		m.e = parse_hex(&p);
		p++;
		m.prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) | (p[2] == 'x' ? PROT_EXEC : 0);
		for (int f = 0; f < 4 && *p; f++) { /* perms, offset, dev, inode */
			while (*p && *p != ' ')
				p++;
			while (*p == ' ')
				p++;
		}
		m.path = p;
		res = cb(&m, ctx);
		ul used = (ul)(nl - buf) + 1;
		if (used > have)
			used = have;
		memcpy(buf, buf + used, have - used);
		have -= used;
		if (eof && have == 0)
			break;
	}
	sys_close((int)fd);
	return res;
}

/* ---- vvar / vvar_vclock / vdso ---- */

enum { SP_VVAR, SP_VCLOCK, SP_VDSO, SP_N };
static const char *const sp_name[SP_N] = { "[vvar]", "[vvar_vclock]", "[vdso]" };
static ul own_s[SP_N], own_e[SP_N];

static int find_special(const struct mapent *m, void *ctx)
{
	(void)ctx;
	for (int k = 0; k < SP_N; k++)
		if (!strcmp(m->path, sp_name[k])) {
			own_s[k] = m->s;
			own_e[k] = m->e;
		}
	return 0;
}

/* The vdso reaches its data pages RIP-relative: the three mappings move together, and the
 * checkpoint kernel's layout must be this kernel's (a different one is a clear failure). */
static void park_special(void)
{
	maps_scan(find_special, NULL);
	u64 ps[SP_N] = { H->vvar_start, H->vclock_start, H->vdso_start };
	u64 pe[SP_N] = { H->vvar_end, H->vclock_end, H->vdso_end };
	int want = ps[SP_VVAR] || ps[SP_VCLOCK] || ps[SP_VDSO];
	ul base = ~0UL;
	for (int k = 0; k < SP_N; k++)
		if (own_s[k] && own_s[k] < base)
			base = own_s[k];
	if (want) {
		if (!ps[SP_VDSO] || !own_s[SP_VDSO])
			fail_x("vdso missing (checkpoint kernel vs this one) at", ps[SP_VDSO], 0);
		for (int k = 0; k < SP_N; k++) {
			if (!ps[k] != !own_s[k])
				fail_at(ps[k] ? "this kernel has no" : "checkpoint kernel had no", sp_name[k], 0, 0, 0);
			if (!ps[k])
				continue;
			if (pe[k] - ps[k] != own_e[k] - own_s[k])
				fail_at("size differs from the checkpoint kernel's:", sp_name[k], own_e[k] - own_s[k], 1, 0);
			if ((long)(ps[k] - ps[SP_VDSO]) != (long)(own_s[k] - own_s[SP_VDSO]))
				fail_at("vdso layout differs from the checkpoint kernel's:", sp_name[k], ps[k], 1, 0);
		}
	}
	for (int k = 0; k < SP_N; k++) {
		if (!own_s[k])
			continue;
		ul len = own_e[k] - own_s[k], dst = RESTORER_TMP_VDSO + (own_s[k] - base);
		long r = sys_mremap(own_s[k], len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
		if (r != (long)dst)
			fail_at("mremap (park)", sp_name[k], own_s[k], 1, r);
		own_s[k] = dst;
		own_e[k] = dst + len;
	}
}

/* With no vdso in the plan, the parked ones go away with the restorer span. */
static void place_special(void)
{
	u64 ps[SP_N] = { H->vvar_start, H->vclock_start, H->vdso_start };
	for (int k = 0; k < SP_N; k++) {
		if (!ps[k])
			continue;
		ul len = own_e[k] - own_s[k];
		long r = sys_mremap(own_s[k], len, len, MREMAP_MAYMOVE | MREMAP_FIXED, ps[k]);
		if (r != (long)ps[k])
			fail_at("mremap", sp_name[k], ps[k], 1, r);
	}
}

/* ---- the restorer's own file mappings become anonymous copies (PR_SET_MM exe_fd says EBUSY
 * while the old executable is still mapped) ---- */

static int first_own_file(const struct mapent *m, void *ctx)
{
	if (m->s >= RESTORER_BASE && m->e <= SPAN_END && m->path[0] == '/') {
		*(struct mapent *)ctx = *m;
		return 1;
	}
	return 0;
}

static void anonymize_self(void)
{
	struct mapent m;
	while (maps_scan(first_own_file, &m)) {
		ul len = m.e - m.s;
		long t = sys_mmap(COPY_AREA, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (t != (long)COPY_AREA)
			fail_x("mmap copy of own mapping", m.s, t);
		memcpy((void *)COPY_AREA, (void *)m.s, len);
		long r = sys_mprotect(COPY_AREA, len, m.prot);
		if (r < 0)
			fail_x("mprotect copy of own mapping", m.s, r);
		/* Atomic replacement: the code running now is in one of these mappings. */
		r = sys_mremap(COPY_AREA, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, m.s);
		if (r != (long)m.s)
			fail_x("mremap anonymous copy over own mapping", m.s, r);
	}
}

static int first_foreign(const struct mapent *m, void *ctx)
{
	if ((m->s >= RESTORER_BASE && m->e <= SPAN_END) || !strcmp(m->path, "[vsyscall]"))
		return 0;
	*(struct mapent *)ctx = *m;
	return 1;
}

/* Everything outside the span goes (the original stack, auxv, ...); [vsyscall] stays. */
static void clear_address_space(void)
{
	long r = sys_munmap(0, RESTORER_BASE);
	if (r < 0)
		fail_x("munmap below the span", 0, r);
	r = sys_munmap(SPAN_END, USER_TOP - SPAN_END);
	if (r < 0)
		fail_x("munmap above the span", SPAN_END, r);
	struct mapent m;
	if (maps_scan(first_foreign, &m))
		fail_x("mapping left outside the span", m.s, 0);
}

#include "restorer_sockets.c"
#include "restorer_fds.c"

/* ---- the target's memory ---- */

static int cached_fd = -1;
static u32 cached_path, cached_mode;

static int open_mapped(u32 path_off, u32 mode)
{
	if (cached_fd >= 0 && cached_path == path_off && cached_mode == mode)
		return cached_fd; /* a library is usually 4-5 consecutive VMAs */
	if (cached_fd >= 0)
		sys_close(cached_fd);
	cached_fd = -1;
	const char *path = str(path_off);
	if (!path || path[0] != '/')
		fail_x("file mapping without a path at", 0, 0);
	long fd = sys_open(path, (int)mode | O_CLOEXEC, 0);
	if (fd < 0)
		fail_s("cannot open mapped file", path, fd);
	cached_fd = (int)fd;
	cached_path = path_off;
	cached_mode = mode;
	return cached_fd;
}

/* ---- checking the pages as they land ---- */

#include "page_crc.h"

static u32 zero_page_crc;

static void crc_init(void)
{
	page_crc_init();
	static const u8 zeros[PAGE];
	zero_page_crc = crc32c_page(zeros);
}

/* Worker `me`'s buffer for check_pages, in 2 MiB pages where the kernel gives them (read back
 * into, they cost less here). */
static void map_verify_buffer(int me)
{
	const u64 at = VERIFY_AREA + (u64)me * VERIFY_BUF;
	long r = sys_mmap(at, VERIFY_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (r != (long)at)
		fail_x("mmap page check buffer", at, r);
	sc3(SYS_madvise, at, VERIFY_BUF, 14 /* MADV_HUGEPAGE */);
}

/* The pages [addr, addr + len) hold what the image says (crcs from C[first]): read back through
 * the kernel (process_vm_readv of this very process), not touched here: on some virtual
 * machines a process's first touch of a page the disk wrote costs ~1 s per GiB, which the job
 * pays later anyway, while the kernel reads it through its own mapping. Worker `me` uses its
 * own buffer. */
static void check_pages(u64 addr, u64 len, u64 first, int me)
{
	u8 *buf = (u8 *)(VERIFY_AREA + (u64)me * VERIFY_BUF);
	for (u64 done = 0; done < len;) {
		u64 m = len - done < VERIFY_BUF ? len - done : VERIFY_BUF;
		struct {
			void *base;
			u64 len;
		} local = { buf, m }, remote = { (void *)(addr + done), m };
		long r = sc6(SYS_process_vm_readv, sys_getpid(), (long)&local, 1, (long)&remote, 1, 0);
		if (r != (long)m)
			fail_x("cannot read back the pages at", addr + done, r);
		for (u64 p = 0; p < m; p += PAGE)
			if (crc32c_page(buf + p) != C[first + (done + p) / PAGE])
				fail_x("page checksum mismatch at", addr + done + p, 0);
		done += m;
	}
}

/* Pages [from, to) of a run were holes in the image, left as the fresh mapping's zeros: the
 * image must say zero pages there (a damaged or cut image may not). */
static void check_zero_pages(u64 from, u64 to, u64 first, u64 addr)
{
	for (u64 p = from; p < to; p++)
		if (C[first + p] != zero_page_crc)
			fail_x("page checksum mismatch (a hole in the image) at", addr + p * PAGE, 0);
}

/* What a filling thread does with the data segments of a chunk: a reader reads them in (and
 * faults them in first, in one batch, unless a populator did: far cheaper than one by one
 * inside the read, direct 1.5 s instead of 2.1 s per 4 GiB here); a populator only faults
 * them in, ahead of the readers. */
enum fill_role { FILL_READ, FILL_READ_POPULATED, FILL_POPULATE };

/* [off, off + n) of the page data, at addr. Zero pages were never stored: they are holes
 * (SEEK_DATA/SEEK_HOLE find them), which a fresh anonymous mapping already reads as zeros, so
 * they are skipped there (and never faulted in: memory the job did not have, it does not get);
 * a private file mapping gets them as zeros over the file. With crcs (first != PLAN_NO_CRC),
 * every page a reader reads is checked once it is in, and every hole it skips too. */
static void fill_run(u64 addr, u64 n, u64 off, int anon, u64 first, int me, enum fill_role role)
{
	const int reads = role != FILL_POPULATE;
	u64 end = off + n;
	for (u64 pos = off; pos < end;) {
		u64 d = pos, h = end;
		if (anon) {
			long r = sys_lseek(pages_fd, (long)pos, SEEK_DATA);
			if (r < 0 || (u64)r >= end) /* ENXIO: nothing but holes up to the end of the file */
				d = h = end;
			else
				d = (u64)r;
			if (d < end) {
				r = sys_lseek(pages_fd, (long)d, SEEK_HOLE);
				h = r < 0 || (u64)r > end ? end : (u64)r;
			}
			/* runs start on page boundaries in the file: pages wholly inside the hole */
			if (reads && first != PLAN_NO_CRC)
				check_zero_pages((pos - off + PAGE - 1) / PAGE, (d - off) / PAGE, first, addr);
			if (d >= end)
				break;
		}
		pos = h;
		/* failure only costs speed (kernels before 5.14) */
		if (role != FILL_READ_POPULATED)
			sc3(SYS_madvise, addr + (d - off), h - d, MADV_POPULATE_WRITE);
		if (!reads)
			continue;
		/* O_DIRECT where it works (all page-aligned); an error (EINVAL: an alignment the
		 * file system refuses) leaves it to the buffered read below. */
		u8 *at;
		if (!(pages_direct >= 0 && !pages_mem && pread_all(pages_direct, (void *)(addr + (d - off)), h - d, d, &at) == 0))
			pread_full(pages_fd, (void *)(addr + (d - off)), h - d, d, "read page run into");
		if (first != PLAN_NO_CRC) {
			u64 p0 = (d - off) / PAGE, p1 = (h - off + PAGE - 1) / PAGE;
			check_pages(addr + p0 * PAGE, (p1 - p0) * PAGE, first + p0, me);
		}
	}
	/* Decompressed pages are copies: give their memory back as soon as they are in place. */
	if (reads && pages_mem)
		sc4(SYS_fallocate, pages_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, n);
}

/* Whether the restorer reads pages into v (a shared file mapping's content is the file's),
 * and the protection v is mapped with until they are in. */
static int vma_filled(const struct plan_vma *v) { return v->nruns && v->kind != PVMA_FILE_SHARED; }
static int fill_prot(const struct plan_vma *v) { return vma_filled(v) ? (int)v->prot | PROT_READ | PROT_WRITE : (int)v->prot; }

static void map_vma(const struct plan_vma *v)
{
	ul len = v->end - v->start;
	int prot = (int)v->prot, mprot = fill_prot(v);
	long r;
	/* [stack] and any MAP_GROWSDOWN region must stay growable. maps shows a growsdown vma's
	 * real start (the guard gap lies below it, outside the vma): map exactly there. */
	int more = (v->kind == PVMA_STACK || (v->flags & PVF_GROWSDOWN)) ? MAP_GROWSDOWN : 0;
	more |= (v->flags & PVF_NORESERVE) ? MAP_NORESERVE : 0;
	switch (v->kind) {
	case PVMA_ANON:
	case PVMA_STACK:
		r = sys_mmap(v->start, len, mprot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | more, -1, 0);
		break;
	case PVMA_FILE_PRIVATE:
		r = sys_mmap(v->start, len, mprot, MAP_PRIVATE | MAP_FIXED | more, open_mapped(v->path, O_RDONLY), v->pgoff);
		break;
	case PVMA_SHARED_FILE: /* the same restored memfd / file for every mapping of it */
		r = sys_mmap(v->start, len, prot, MAP_SHARED | MAP_FIXED, shm_fd_of(v->shm), v->pgoff);
		break;
	case PVMA_SYSV_SHM: /* nsinit recreated the segment with its id and contents: attach it here */
		r = sc3(SYS_shmat, v->shmid, v->start, ((prot & PROT_WRITE) ? 0 : SHM_RDONLY) | ((prot & PROT_EXEC) ? SHM_EXEC : 0));
		if (r == (long)v->start && !(prot & PROT_READ) && sys_mprotect(v->start, len, prot) < 0)
			fail_x("mprotect SysV shm at", v->start, v->shmid);
		/* Marked for deletion in the job: removed now, it lives on while attached (Linux lets
		 * the other processes still attach it by id). */
		if (r == (long)v->start && (v->flags & PVF_SYSV_RMID) && sc3(SYS_shmctl, v->shmid, IPC_RMID, 0) < 0)
			fail_x("IPC_RMID of SysV shm id", (u64)v->shmid, 0);
		break;
	case PVMA_FILE_SHARED: /* the content lives in the file: map it with the access the prot needs */
		r = sys_mmap(v->start, len, prot, MAP_SHARED | MAP_FIXED,
			     open_mapped(v->path, (v->prot & PROT_WRITE) ? O_RDWR : O_RDONLY), v->pgoff);
		break;
	default:
		fail_x("unknown vma kind at", v->start, v->kind);
	}
	if (r != (long)v->start)
		fail_at("mmap", v->path ? str(v->path) : "vma", v->start, 1, r);
	static const struct { u32 flag; int advice; const char *what; } adv[] = {
		{ PVF_DONTFORK, MADV_DONTFORK, "madvise MADV_DONTFORK" },
		{ PVF_DONTDUMP, MADV_DONTDUMP, "madvise MADV_DONTDUMP" },
		{ PVF_WIPEONFORK, MADV_WIPEONFORK, "madvise MADV_WIPEONFORK" },
		{ PVF_HUGEPAGE, MADV_HUGEPAGE, "madvise MADV_HUGEPAGE" },
		{ PVF_NOHUGEPAGE, MADV_NOHUGEPAGE, "madvise MADV_NOHUGEPAGE" },
	};
	for (u32 k = 0; k < sizeof adv / sizeof adv[0]; k++) {
		if (!(v->flags & adv[k].flag))
			continue;
		r = sc3(SYS_madvise, v->start, len, adv[k].advice);
		if (r < 0)
			fail_at(adv[k].what, v->path ? str(v->path) : "vma", v->start, 1, r);
	}
}

/* Fills the pages of every VMA in chunks of FILL_CHUNK, in address order. Readers claim the
 * chunks one at a time from next_chunk; populators claim them from next_pop and fault in those
 * no reader has taken yet, so that the readers find their memory ready and keep the disk busy
 * while the CPUs fault in what comes next. Whoever takes a chunk first (chunk_taken) faults it
 * in: a reader does it itself when no populator got there (none made, or they fell behind).
 * `me` picks the thread's check buffer. With claim 0 it only counts the chunks. Runs adjacent
 * both in memory and in the image are read together (dump may split them, e.g. per checksum
 * block). */
#define FILL_CHUNK (64ULL << 20)
enum { CHUNK_FREE, CHUNK_POPULATED, CHUNK_READ };
static u64 next_chunk, next_pop;
static u8 *chunk_taken; /* per chunk: CHUNK_FREE until a reader or a populator takes it */
static u64 fill_all(int me, int claim, int populator)
{
	u64 *counter = populator ? &next_pop : &next_chunk;
	u64 chunk = 0, mine = claim ? __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED) : ~0ULL;
	for (u32 k = 0; k < H->nvmas; k++) {
		const struct plan_vma *v = &V[k];
		if (!vma_filled(v))
			continue;
		const int anon = v->kind == PVMA_ANON || v->kind == PVMA_STACK;
		for (u32 i = 0; i < v->nruns;) {
			const struct plan_run *a = &R[v->first_run + i];
			u64 addr = a->addr, n = a->len, off = a->offset;
			if (addr < v->start || addr + n > v->end || n == 0)
				fail_x("page run outside its vma at", addr, 0);
			const u64 first = a->crc_first;
			for (i++; i < v->nruns; i++) {
				const struct plan_run *b = &R[v->first_run + i];
				if (b->addr != addr + n || b->offset != off + n || b->addr + b->len > v->end ||
				    b->crc_first != (first == PLAN_NO_CRC ? PLAN_NO_CRC : first + n / PAGE))
					break;
				n += b->len;
			}
			if (first != PLAN_NO_CRC && (first > H->ncrcs || n / PAGE > H->ncrcs - first))
				fail_x("page crcs out of range for the run at", addr, 0);
			for (u64 at = 0; at < n; at += FILL_CHUNK, chunk++) {
				if (chunk != mine)
					continue;
				u8 was = CHUNK_FREE;
				int first_here = __atomic_compare_exchange_n(&chunk_taken[chunk], &was,
									     populator ? CHUNK_POPULATED : CHUNK_READ, 0,
									     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
				if (!populator || first_here)
					fill_run(addr + at, n - at < FILL_CHUNK ? n - at : FILL_CHUNK, off + at, anon,
						 first == PLAN_NO_CRC ? PLAN_NO_CRC : first + at / PAGE, me,
						 populator ? FILL_POPULATE : first_here ? FILL_READ : FILL_READ_POPULATED);
				mine = __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
			}
		}
	}
	return chunk;
}

/* The helper threads: CLONE_PARENT_SETTID puts a helper's tid in its word before it runs,
 * CLONE_CHILD_CLEARTID clears it (and wakes the waiter) once it has exited. Helpers
 * [0, FILL_READERS - 1) read, the others populate. */
#define FILL_READERS 8
#define FILL_POPULATORS (PLAN_FILL_HELPERS - (FILL_READERS - 1))
static volatile int helper_running[PLAN_FILL_HELPERS];
static pid_t helper_tid; /* plan_job.helper_tid + this process's index * PLAN_FILL_HELPERS; 0: none */

static void fill_helper(long me)
{
	fill_all((int)me, 1, me >= FILL_READERS);
	sc1(SYS_exit, 0); /* this thread only */
	__builtin_unreachable();
}

/* clone3 of a thread of this process with id `tid` (set_tid) on the stack at `stk`, running
 * fn(arg). With `running`, the kernel writes the tid there before the thread runs and clears it
 * (waking a futex waiter) once the thread has exited. clone3's result. */
static long clone_thread(ul stk, pid_t tid, volatile int *running, void (*fn)(long), long arg)
{
	struct {
		u64 flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
			cgroup;
	} ca;
	memset(&ca, 0, sizeof ca);
	/* CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM, and PARENT_SETTID|CHILD_CLEARTID with `running` */
	ca.flags = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 | (running ? 0x100000 | 0x200000 : 0);
	ca.parent_tid = ca.child_tid = (u64)(ul)running;
	ca.stack = stk;
	ca.stack_size = THREAD_STACK;
	ca.set_tid = (u64)(ul)&tid;
	ca.set_tid_size = 1;
	return clone3_thread(&ca, sizeof ca, fn, arg);
}

static u64 monotonic_us(void)
{
	struct { long s, ns; } t = { 0, 0 };
	sc2(SYS_clock_gettime, 1 /* CLOCK_MONOTONIC */, (long)&t);
	return (u64)t.s * 1000000u + (u64)t.ns / 1000u;
}

/* Several threads read the memory in: each chunk is a fault-in (CPU) then a read (the disk),
 * and with only a thread per CPU the disk waits while they fault; on a virtual machine more
 * reads in flight are most of the speed. Helpers are threads with ids above every id of the
 * job (plan_job.helper_tid), so they take none the job needs and move no pid counter; where
 * one cannot be made, the threads made so far fill everything. */
static void read_memory_in(void)
{
	const u64 started = monotonic_us();
	const u64 chunks = fill_all(0, 0, 0);
	if (!chunks)
		return;
	const u64 states = (chunks + PAGE - 1) & ~(PAGE - 1);
	if (states > CHUNK_STATE_MAX)
		fail_x("too many memory chunks:", chunks, 0);
	long r = sys_mmap(CHUNK_STATE, states, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (r != (long)CHUNK_STATE)
		fail_x("mmap chunk states", CHUNK_STATE, r);
	chunk_taken = (u8 *)CHUNK_STATE;
	if (H->ncrcs)
		crc_init();
	/* readers up to one per chunk; populators (at most one per CPU) when readers will come
	 * back for more chunks */
	const int readers = chunks < FILL_READERS ? (int)chunks : FILL_READERS;
	int populators = 0;
	if (chunks > (u64)readers) {
		u64 cpus[16] = { 0 };
		long n = sc3(SYS_sched_getaffinity, 0, sizeof cpus, (long)cpus);
		for (long w = 0; w < n / 8; w++)
			for (u64 bits = cpus[w]; bits; bits &= bits - 1) /* no libgcc: no popcount */
				populators++;
		populators = populators < 1 ? 1 : populators > FILL_POPULATORS ? FILL_POPULATORS : populators;
	}
	int made_readers = 1, made_populators = 0;
	for (int j = 0; helper_tid > 0 && j < readers - 1 + populators; j++) {
		/* readers are 1..readers-1, populators FILL_READERS on; helper slot me - 1 */
		const int me = j < readers - 1 ? j + 1 : FILL_READERS + (j - (readers - 1));
		const int slot = me - 1;
		ul stk = FILL_STACKS + (ul)slot * THREAD_STRIDE;
		r = sys_mmap(stk, THREAD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		/* a reader's check buffer first: it may start checking before the next clone returns */
		if (H->ncrcs && me < FILL_READERS)
			map_verify_buffer(me);
		if (r != (long)stk || clone_thread(stk, helper_tid + slot, &helper_running[slot], fill_helper, me) != helper_tid + slot)
			break;
		if (me < FILL_READERS)
			made_readers++;
		else
			made_populators++;
	}
	if (H->ncrcs)
		map_verify_buffer(0);
	fill_all(0, 1, 0);
	for (int j = 0; j < PLAN_FILL_HELPERS; j++) {
		int t;
		while ((t = helper_running[j]) != 0)
			sys_futex(&helper_running[j], FUTEX_WAIT, t); /* not _PRIVATE: the kernel's wake is not */
	}
	sys_munmap(CHUNK_STATE, states);
	struct line l = { .n = 0 };
	ln_s(&l, "[restorer] memory: ");
	ln_d(&l, (long)chunks);
	ln_s(&l, " chunks filled by ");
	ln_d(&l, made_readers + made_populators);
	ln_s(&l, made_readers + made_populators == 1 ? " thread (" : " threads (");
	ln_d(&l, made_readers);
	ln_s(&l, " reading, ");
	ln_d(&l, made_populators);
	ln_s(&l, " faulting in ahead) in ");
	ln_d(&l, (long)((monotonic_us() - started) / 1000u));
	ln_s(&l, " ms");
	ln_write(log_fd, &l);
}

static void fill_memory(void)
{
	read_memory_in();
	for (u32 k = 0; k < H->nvmas; k++) {
		const struct plan_vma *v = &V[k];
		if (fill_prot(v) != (int)v->prot) {
			long r = sys_mprotect(v->start, v->end - v->start, (int)v->prot);
			if (r < 0)
				fail_x("mprotect", v->start, r);
		}
	}
}

static void map_memory(void)
{
	u64 prev_end = 0;
	for (u32 i = 0; i < H->nvmas; i++) {
		const struct plan_vma *v = &V[i];
		if (v->start >= v->end || (v->start | v->end) & (PAGE - 1) || v->start < prev_end || v->end > USER_TOP)
			fail_x("bad vma (order/alignment) at", v->start, 0);
		if (v->end > RESTORER_BASE && v->start < SPAN_END)
			fail_x("vma overlaps the restorer span at", v->start, 0);
		if ((u64)v->first_run + v->nruns > H->nruns)
			fail_x("vma runs out of range at", v->start, 0);
		prev_end = v->end;
		map_vma(v);
	}
	if (cached_fd >= 0)
		sys_close(cached_fd);
	cached_fd = -1;
	fill_memory();
}

/* ---- the job's time namespace ---- */

#define CLONE_NEWTIME 0x80

/* Joins the job's time namespace once init has made it (nsinit.c, make_time_ns: when the agent
 * sends the clock offsets, as a rule while the memory goes in), so that the job's clocks run
 * from as late as can be. Before the threads exist: setns into a time namespace wants a
 * single-threaded process. init's link reads the same as this process's own until it has
 * made the namespace, and cannot be read (EACCES) until it has also written the offsets. */
static void join_time_ns(void)
{
	static const char theirs_path[] = "/proc/1/ns/time_for_children";
	char mine[64], theirs[64];
	long n = sc3(SYS_readlink, "/proc/self/ns/time", mine, sizeof mine);
	if (n <= 0)
		fail_s("cannot read", "/proc/self/ns/time", n);
	for (;;) {
		long m = sc3(SYS_readlink, theirs_path, theirs, sizeof theirs);
		if (m > 0 && m != n)
			break;
		if (m > 0) {
			long k = 0;
			while (k < n && mine[k] == theirs[k])
				k++;
			if (k < n)
				break;
		} else if (m != -13 /* EACCES */ && m != -1 /* EPERM */) {
			fail_s("cannot read", theirs_path, m);
		}
		struct {
			long sec, nsec;
		} ts = { 0, 500000 };
		sc2(SYS_nanosleep, &ts, 0);
	}
	long fd = sys_open(theirs_path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		fail_s("cannot open", theirs_path, fd);
	long r = sc2(SYS_setns, fd, CLONE_NEWTIME);
	sys_close((int)fd);
	if (r < 0)
		fail_s("cannot join the job's time namespace", theirs_path, r);
}

/* ---- process-wide state ---- */

struct prctl_mm_map {
	u64 f[MM_NFIELDS];
	u64 *auxv;
	u32 auxv_size, exe_fd;
};

static void set_mm(void)
{
	static u64 auxv[PLAN_AUXV_WORDS];
	struct prctl_mm_map m;
	for (int i = 0; i < MM_NFIELDS; i++)
		m.f[i] = H->mm[i];
	if (H->auxv_bytes > sizeof auxv || H->auxv_bytes % 8)
		fail_x("bad auxv size", H->auxv_bytes, 0);
	memcpy(auxv, H->auxv, H->auxv_bytes);
	m.auxv = H->auxv_bytes ? auxv : NULL;
	m.auxv_size = H->auxv_bytes;
	m.exe_fd = (u32)-1;
	const char *exe = str(H->exe);
	long efd = -1;
	if (exe) {
		efd = sys_open(exe, O_RDONLY | O_CLOEXEC, 0);
		if (efd < 0)
			fail_s("cannot open executable", exe, efd);
		m.exe_fd = (u32)efd;
	}
	long r = sys_prctl(PR_SET_MM, PR_SET_MM_MAP, (ul)&m, sizeof m, 0);
	if (r < 0)
		fail_s("PR_SET_MM_MAP (mm fields, auxv, exe)", exe, r);
	if (efd >= 0)
		sys_close((int)efd);
	char comm[16];
	memcpy(comm, H->comm, 16);
	comm[15] = 0;
	sys_prctl(PR_SET_NAME, (ul)comm, 0, 0, 0);
	const char *cwd = str(H->cwd);
	if (cwd) {
		r = sys_chdir(cwd);
		if (r < 0)
			fail_s("cannot chdir to", cwd, r);
	}
	sys_umask(H->umask);
}

static void restore_fds(void)
{
	/* everything below the passed descriptors; those are closed once every fd is in place */
	if (H->pass_floor)
		sys_close_range(0, H->pass_floor - 1);
	for (u32 i = 0; i < H->nfds; i++) {
		const struct plan_fd *f = &F[i];
		const char *path = str(f->path);
		long fd;
		if (f->fd < 0 || (u32)f->fd >= H->fd_floor)
			fail_x("fd number above fd_floor:", (u64)f->fd, 0);
		switch (f->kind) {
		case PFD_FILE:
		case PFD_DEVNULL:
			fd = path ? sys_open(path, (int)f->flags & ~O_CLOEXEC, 0) : -2;
			break;
		case PFD_DIRECTORY:
			fd = path ? sys_open(path, O_RDONLY | O_DIRECTORY, 0) : -2;
			break;
		case PFD_EVENTFD:
		case PFD_TIMERFD:
		case PFD_SIGNALFD:
		case PFD_EPOLL:
		case PFD_INOTIFY:
		case PFD_SHARED_FILE:
		case PFD_PIPE:
		case PFD_SOCKET:
			fd = open_fd_kind(f); /* restorer_fds.c; fails by itself */
			break;
		case PFD_PASSED:
			if (f->passed_index < 0 || (u32)f->passed_index >= H->npassed)
				fail_x("passed descriptor missing for fd", (u64)f->fd, f->passed_index);
			fd = sys_dup3((int)H->pass_floor + f->passed_index, f->fd, f->cloexec ? O_CLOEXEC : 0);
			if (fd < 0)
				fail_x("dup3 passed descriptor to fd", (u64)f->fd, fd);
			continue;
		case PFD_DUP:
			/* one open file description: the lower fd was made first (plan order) */
			if (f->dup_of < 0 || f->dup_of >= f->fd)
				fail_x("bad dup_of for fd", (u64)f->fd, f->dup_of);
			fd = sys_dup3(f->dup_of, f->fd, f->cloexec ? O_CLOEXEC : 0);
			if (fd < 0)
				fail_x("dup3 of an earlier descriptor to fd", (u64)f->fd, fd);
			continue;
		default:
			fail_x("unknown fd kind for fd", (u64)f->fd, f->kind);
		}
		if (fd < 0)
			fail_s("cannot open", path ? path : "(no path)", fd);
		if (fd != f->fd) {
			long r = sys_dup3((int)fd, f->fd, f->cloexec ? O_CLOEXEC : 0);
			sys_close((int)fd);
			if (r < 0)
				fail_s("dup3 to its fd number", path, r);
		} else {
			sys_fcntl((int)fd, F_SETFD, f->cloexec ? FD_CLOEXEC : 0);
		}
		if ((f->kind == PFD_FILE || f->kind == PFD_DIRECTORY) && f->pos) {
			long r = sys_lseek(f->fd, (long)f->pos, SEEK_SET);
			if (r < 0)
				fail_s("lseek", path, r);
		}
	}
}

static void restore_sigactions(void)
{
	for (int s = 1; s <= 64; s++) {
		if (!H->sa[s].valid || s == SIGKILL || s == SIGSTOP)
			continue;
		/* plan_sigaction starts with the kernel's struct sigaction */
		long r = sc4(SYS_rt_sigaction, s, &H->sa[s], 0, 8);
		if (r < 0)
			fail_x("rt_sigaction for signal", (u64)s, r);
	}
}

#include "restore_state.h"

/* ---- threads ---- */

static void drop_caps(void)
{
	u32 h[2] = { 0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0 }, d[6] = { 0 };
	sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	long r = sc2(SYS_capset, h, d);
	if (r < 0)
		fail_x("capset (drop all)", 0, r);
}

/* Per-thread kernel state only the thread itself can set, then the int3 where the agent takes
 * over. rax/rdi are loaded so that a thread wrongly let go past the int3 runs the following
 * `syscall` as exit_group(43) rather than anything else; that syscall instruction is also one
 * the agent may use for its injected munmap when the process has no vdso. */
static void __attribute__((noreturn)) finish_thread(int i)
{
	const struct plan_thread *t = &T[i];
	long r;
	sc1(SYS_set_tid_address, t->clear_child_tid);
	if (t->robust_list) {
		r = sc2(SYS_set_robust_list, t->robust_list, t->robust_list_len);
		if (r < 0)
			fail_x("set_robust_list", t->robust_list, r);
	}
	if (t->rseq_ptr) {
		r = sc4(SYS_rseq, t->rseq_ptr, t->rseq_len, 0, t->rseq_sig);
		if (r < 0)
			fail_x("rseq register", t->rseq_ptr, r);
	}
	if (!(t->altstack_flags & SS_DISABLE) && t->altstack_size) {
		struct {
			u64 sp;
			int flags, pad;
			u64 size;
		} ss = { t->altstack_sp, (int)((u32)t->altstack_flags & SS_AUTODISARM), 0, t->altstack_size };
		r = sc2(SYS_sigaltstack, &ss, 0);
		if (r < 0)
			fail_x("sigaltstack", t->altstack_sp, r);
	}
	rs_thread_state(i);
	drop_caps(); /* credentials are per thread: each drops its own */
	if (i == 0) {
		int n;
		while ((n = threads_ready) < (int)H->nthreads - 1)
			sys_futex(&threads_ready, FUTEX_WAIT_PRIVATE, n);
		rs_process_state();
		rs_no_new_privs(0);
		rs_dumpable();
		struct line l = { .n = 0 };
		ln_s(&l, "[restorer] ready: ");
		ln_d(&l, H->nthreads);
		ln_s(&l, " thread(s) parked on int3");
		ln_write(log_fd, &l);
		sys_close(plan_fd);
		sys_close(image_fd);
		if (pages_direct >= 0)
			sys_close(pages_direct);
		sys_close(log_fd);
	} else {
		rs_no_new_privs(i);
		__atomic_add_fetch(&threads_ready, 1, __ATOMIC_SEQ_CST);
		sys_futex(&threads_ready, FUTEX_WAKE_PRIVATE, 1);
	}
	__asm__ volatile("int3\n syscall\n ud2" : : "a"(SYS_exit_group), "D"(43) : "memory");
	__builtin_unreachable();
}

static void thread_entry(long i) { finish_thread((int)i); }

static void create_threads(void)
{
	for (u32 i = 1; i < H->nthreads; i++) {
		ul stk = STACK_AREA + (ul)i * THREAD_STRIDE;
		long r = sys_mmap(stk, THREAD_STACK, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (r != (long)stk)
			fail_x("mmap thread stack", stk, r);
		pid_t tid = T[i].tid;
		r = clone_thread(stk, tid, NULL, thread_entry, (long)i);
		if (r != tid)
			fail_x("clone3 thread with set_tid", (u64)tid, r);
	}
}

static void stage2(void *unused)
{
	(void)unused;
	park_special();
	anonymize_self();
	clear_address_space();
	create_shms();
	create_pipes();
	map_memory();
	join_time_ns();
	place_special();
	set_mm();
	rs_personality();
	create_sockets(); /* after chdir/umask: a relative UNIX path binds where it did */
	restore_fds();
	/* the passed descriptors it needed are dup'ed; the others are other processes' (before
	 * the locks: closing another descriptor of a locked file would drop a POSIX lock) */
	if (H->npassed)
		sys_close_range(H->pass_floor, H->pass_floor + H->npassed - 1);
	finish_fd_kinds();
	restore_sigactions();
	create_threads();
	finish_thread(0);
}

/* ---- start: plan, descriptors ---- */

static int move_fd(int fd, int floor);
#include "restorer_tree.c"

static int move_fd(int fd, int floor)
{
	long n = sys_fcntl(fd, F_DUPFD, floor);
	if (n < 0)
		return (int)n;
	sys_close(fd);
	sys_fcntl((int)n, F_SETFD, FD_CLOEXEC);
	return (int)n;
}

static void check_table(u64 off, u64 n, u64 size, const char *what)
{
	if (off % 8 || off > H->total_size || n > (H->total_size - off) / size)
		fail_s("plan table out of range:", what, (long)n);
}

void __attribute__((noreturn, used)) cmain(ul *sp)
{
	(void)sp;
	u64 all = ~0ULL;
	sc4(SYS_rt_sigprocmask, SIG_SETMASK, &all, 0, 8);

	if ((ul)_end > JOB_AREA)
		fail_x("restorer image too large", (ul)_end, 0);
	long me = sys_getpid();
	read_job(me);
	if (J.helper_tid > 0)
		helper_tid = J.helper_tid + (pid_t)(ME - PR) * PLAN_FILL_HELPERS;
	pread_full(RFD_PLAN, &hdr0, sizeof hdr0, ME->plan_off, "read plan header");
	H = &hdr0;
	if (hdr0.magic != PLAN_MAGIC || hdr0.version != PLAN_VERSION)
		fail_x("not a cairn plan of this version:", hdr0.magic, hdr0.version);
	if (hdr0.total_size < sizeof hdr0 || hdr0.total_size > PLAN_AREA_MAX || hdr0.total_size != ME->plan_size)
		fail_x("bad plan size", hdr0.total_size, 0);
	if (me != hdr0.pid)
		fail_x("plan is for another pid:", (u64)hdr0.pid, me);
	if (hdr0.pass_floor != J.pass_floor || hdr0.npassed != J.npassed || hdr0.fd_floor != J.pass_floor + J.npassed)
		fail_x("plan disagrees with the job on passed descriptors", hdr0.pass_floor, hdr0.npassed);

	/* fd_floor may be above the default soft limit; the agent restores the saved limits */
	u64 lim[2];
	long r = sc4(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, lim);
	if (r == 0 && lim[0] < lim[1]) {
		lim[0] = lim[1];
		sc4(SYS_prlimit64, 0, RLIMIT_NOFILE, lim, 0);
	}
	int floor = (int)hdr0.fd_floor;
	if (r == 0 && (u64)floor + 16 > lim[1])
		fail_x("descriptor numbers exceed RLIMIT_NOFILE:", (u64)floor, (long)lim[1]);
	int n = move_fd(RFD_LOG, floor);
	if (n < 0)
		sys_exit_group(42);
	log_fd = n;
	if ((plan_fd = move_fd(RFD_PLAN, floor)) < 0)
		fail_x("move plan descriptor above", (u64)floor, plan_fd);
	if (me == J.main_pid) {
		/* nsinit hands them over at RFD_PASSED + k; every restorer of the job finds them at
		 * pass_floor + k (pass_floor >= RFD_PASSED + npassed: no overlap) */
		sys_close(RFD_IMAGE);
		for (u32 k = 0; k < J.npassed; k++) {
			if ((r = sys_dup3(RFD_PASSED + (int)k, (int)J.pass_floor + (int)k, 0)) < 0)
				fail_x("move passed descriptor", (u64)(RFD_PASSED + k), r);
			sys_close(RFD_PASSED + (int)k);
		}
	}
	long img = sys_open(job_str(ME->image_path), O_RDONLY | O_CLOEXEC, 0);
	if (img < 0)
		fail_s("cannot open image", job_str(ME->image_path), img);
	if ((image_fd = move_fd((int)img, floor)) < 0)
		fail_x("move image descriptor above", (u64)floor, image_fd);
	pages_fd = image_fd;
	/* Not there (a file system without O_DIRECT): buffered reads. */
	long direct = sys_open(job_str(ME->image_path), O_RDONLY | O_CLOEXEC | O_DIRECT, 0);
	if (direct >= 0 && (pages_direct = move_fd((int)direct, floor)) < 0)
		fail_x("move image descriptor above", (u64)floor, pages_direct);
	if (ME->pages_passed) {
		if (ME->pages_passed > J.npassed)
			fail_x("page data descriptor out of range", ME->pages_passed, 0);
		pages_fd = (int)J.pass_floor + (int)ME->pages_passed - 1;
		pages_mem = 1;
	}
	create_children();

	ul size = (hdr0.total_size + PAGE - 1) & ~(PAGE - 1);
	r = sys_mmap(PLAN_AREA, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (r != (long)PLAN_AREA)
		fail_x("mmap plan copy", PLAN_AREA, r);
	pread_full(plan_fd, (void *)PLAN_AREA, hdr0.total_size, ME->plan_off, "read plan into");
	P = (const u8 *)PLAN_AREA;
	H = (const struct plan_hdr *)P;
	if (H->magic != hdr0.magic || H->total_size != hdr0.total_size || P[H->total_size - 1] != 0)
		fail_s("plan changed while read, or string table not terminated", NULL, 0);
	check_table(H->thr_off, H->nthreads, sizeof *T, "threads");
	check_table(H->vma_off, H->nvmas, sizeof *V, "vmas");
	check_table(H->run_off, H->nruns, sizeof *R, "runs");
	check_table(H->fd_off, H->nfds, sizeof *F, "fds");
	check_table(H->crc_off, H->ncrcs, sizeof *C, "page crcs");
	rs_check_tables();
	if (H->str_off >= H->total_size)
		fail_s("plan table out of range:", "strings", 0);
	if (H->nthreads < 1 || H->nthreads > PLAN_MAX_THREADS)
		fail_x("bad thread count", H->nthreads, 0);
	T = (const struct plan_thread *)(P + H->thr_off);
	V = (const struct plan_vma *)(P + H->vma_off);
	R = (const struct plan_run *)(P + H->run_off);
	F = (const struct plan_fd *)(P + H->fd_off);
	C = (const plan_u32 *)(P + H->crc_off);
	if (T[0].tid != H->pid)
		fail_x("first plan thread is not the leader:", (u64)T[0].tid, 0);
	sys_mprotect(PLAN_AREA, size, PROT_READ);

	struct line l = { .n = 0 };
	ln_s(&l, "[restorer] pid ");
	ln_d(&l, me);
	ln_s(&l, ": ");
	ln_d(&l, H->nvmas);
	ln_s(&l, " vmas, ");
	ln_d(&l, H->nruns);
	ln_s(&l, " runs, ");
	ln_d(&l, H->nfds);
	ln_s(&l, " fds, ");
	ln_d(&l, H->nthreads);
	ln_s(&l, " threads");
	ln_write(log_fd, &l);

	r = sys_mmap(MAIN_STACK, MAIN_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		     -1, 0);
	if (r != (long)MAIN_STACK)
		fail_x("mmap main stack", MAIN_STACK, r);
	switch_stack((void *)(MAIN_STACK + MAIN_STACK_SIZE), stage2, NULL);
}
