/* The restorer's syscall layer: x86_64 Linux, no libc, no TLS, no errno.
 * Every wrapper returns the raw kernel result (-errno on failure). The restorer runs with
 * its own address space torn down under it, so nothing here may depend on anything but
 * the restorer's own text/data/bss. */
#ifndef CAIRN_NOLIBC_H
#define CAIRN_NOLIBC_H

typedef unsigned long ul;
typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int pid_t;

#define NULL ((void *)0)

enum {
	SYS_read = 0, SYS_write = 1, SYS_open = 2, SYS_close = 3, SYS_lseek = 8, SYS_mmap = 9, SYS_mprotect = 10,
	SYS_munmap = 11, SYS_rt_sigaction = 13, SYS_rt_sigprocmask = 14, SYS_pread64 = 17, SYS_mremap = 25, SYS_madvise = 28,
	SYS_getpid = 39, SYS_exit = 60, SYS_fcntl = 72, SYS_chdir = 80, SYS_umask = 95, SYS_capset = 126,
	SYS_sigaltstack = 131, SYS_prctl = 157, SYS_futex = 202, SYS_set_tid_address = 218, SYS_exit_group = 231,
	SYS_set_robust_list = 273, SYS_dup3 = 292, SYS_prlimit64 = 302, SYS_rseq = 334, SYS_clone3 = 435,
	SYS_close_range = 436, SYS_nanosleep = 35, SYS_readlink = 89, SYS_setns = 308, SYS_process_vm_readv = 310,
	SYS_clock_gettime = 228, SYS_sched_getaffinity = 204,
};

/* the job's process tree (restorer_tree.c) */
enum {
	SYS_kill = 62, SYS_execve = 59, SYS_setpgid = 109, SYS_getpgid = 121, SYS_setsid = 112, SYS_getsid = 124,
	SYS_rt_sigtimedwait = 128, SYS_waitid = 247,
};

/* descriptor kinds and shared files (restorer_fds.c) */
enum {
	SYS_ioctl = 16, SYS_flock = 73, SYS_ftruncate = 77, SYS_fchmod = 91, SYS_epoll_ctl = 233,
	SYS_inotify_add_watch = 254, SYS_inotify_rm_watch = 255, SYS_timerfd_create = 283, SYS_timerfd_settime = 286,
	SYS_fallocate = 285, SYS_signalfd4 = 289, SYS_eventfd2 = 290, SYS_epoll_create1 = 291, SYS_inotify_init1 = 294, SYS_memfd_create = 319,
	SYS_splice = 275, SYS_pipe2 = 293, SYS_shmat = 30, SYS_shmctl = 31,
};
#define O_DIRECT 040000
#define F_SETPIPE_SZ 1031
#define O_NONBLOCK 04000
#define O_TMPFILE (020000000 | O_DIRECTORY)
#define F_DUPFD_CLOEXEC 1030
#define F_GETFL 3
#define F_SETFL 4
#define F_SETLK 6
#define F_OFD_SETLK 37
#define F_ADD_SEALS 1033
#define F_RDLCK 0
#define F_WRLCK 1
#define LOCK_SH 1
#define LOCK_EX 2
#define LOCK_NB 4
#define MFD_CLOEXEC 1U
#define MFD_ALLOW_SEALING 2U
#define EPOLL_CTL_ADD 1
#define TFD_IOC_SET_TICKS 0x40085400UL /* _IOW('T', 0, u64) */

#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_ACCMODE 3
#define O_DIRECTORY 0200000
#define O_CLOEXEC 02000000
#define SEEK_SET 0
#define SEEK_DATA 3
#define SEEK_HOLE 4
#define FALLOC_FL_KEEP_SIZE 1
#define FALLOC_FL_PUNCH_HOLE 2
#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define FD_CLOEXEC 1

#define PROT_NONE 0
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_GROWSDOWN 0x100
#define MAP_NORESERVE 0x4000
#define MAP_FIXED_NOREPLACE 0x100000
#define MADV_DONTFORK 10
#define MADV_DONTDUMP 16
#define MADV_WIPEONFORK 18
#define MADV_HUGEPAGE 14
#define MADV_NOHUGEPAGE 15
#define MADV_POPULATE_WRITE 23
#define SHM_RDONLY 010000
#define SHM_EXEC 0100000
#define IPC_RMID 0
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2

#define PR_SET_NAME 15
#define PR_SET_MM 35
#define PR_SET_MM_MAP 14
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4

#define SIG_SETMASK 2
#define SIGKILL 9
#define SIGSTOP 19
#define SS_DISABLE 2
#define SS_AUTODISARM (1U << 31)
#define RLIMIT_NOFILE 7
#define FUTEX_WAIT 0
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

#define EINTR 4
#define EAGAIN 11

static inline long sc6(long n, long a, long b, long c, long d, long e, long f)
{
	long r;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return r;
}
#define sc0(n) sc6(n, 0, 0, 0, 0, 0, 0)
#define sc1(n, a) sc6(n, (long)(a), 0, 0, 0, 0, 0)
#define sc2(n, a, b) sc6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sc3(n, a, b, c) sc6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sc4(n, a, b, c, d) sc6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sc5(n, a, b, c, d, e) sc6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

static inline long sys_read(int fd, void *b, size_t n) { return sc3(SYS_read, fd, b, n); }
static inline long sys_write(int fd, const void *b, size_t n) { return sc3(SYS_write, fd, b, n); }
static inline long sys_pread(int fd, void *b, size_t n, u64 off) { return sc4(SYS_pread64, fd, b, n, off); }
static inline long sys_open(const char *p, int fl, int mode) { return sc3(SYS_open, p, fl, mode); }
static inline long sys_close(int fd) { return sc1(SYS_close, fd); }
static inline long sys_close_range(u32 lo, u32 hi) { return sc3(SYS_close_range, lo, hi, 0); }
static inline long sys_lseek(int fd, long off, int whence) { return sc3(SYS_lseek, fd, off, whence); }
static inline long sys_fcntl(int fd, int cmd, long arg) { return sc3(SYS_fcntl, fd, cmd, arg); }
static inline long sys_dup3(int o, int n, int fl) { return sc3(SYS_dup3, o, n, fl); }
static inline long sys_mmap(ul a, ul l, int p, int f, int fd, ul off) { return sc6(SYS_mmap, a, l, p, f, fd, off); }
static inline long sys_munmap(ul a, ul l) { return sc2(SYS_munmap, a, l); }
static inline long sys_mprotect(ul a, ul l, int p) { return sc3(SYS_mprotect, a, l, p); }
static inline long sys_mremap(ul o, ul ol, ul nl, int f, ul n) { return sc5(SYS_mremap, o, ol, nl, f, n); }
static inline long sys_prctl(int o, ul a, ul b, ul c, ul d) { return sc5(SYS_prctl, o, a, b, c, d); }
static inline long sys_chdir(const char *p) { return sc1(SYS_chdir, p); }
static inline long sys_umask(u32 m) { return sc1(SYS_umask, m); }
static inline long sys_getpid(void) { return sc0(SYS_getpid); }
static inline long sys_futex(volatile int *uaddr, int op, int val) { return sc4(SYS_futex, uaddr, op, val, 0); }
static inline void __attribute__((noreturn)) sys_exit_group(int c)
{
	for (;;)
		sc1(SYS_exit_group, c);
}

/* gcc may emit calls to these for struct copies and zeroing even when freestanding; rep
 * movsb/stosb cannot be turned back into a call to themselves by the loop optimizer. */
void *memcpy(void *d, const void *s, size_t n)
{
	void *r = d;
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return r;
}
void *memset(void *d, int c, size_t n)
{
	void *r = d;
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return r;
}
static inline size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}
static inline int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

/* A line buffer for the log: one write per line, so a line is never torn. */
struct line {
	char b[512];
	u32 n;
};
static inline void ln_s(struct line *l, const char *s)
{
	while (s && *s && l->n < sizeof l->b - 1)
		l->b[l->n++] = *s++;
}
static inline void ln_x(struct line *l, u64 v)
{
	char t[20];
	int i = 0;
	ln_s(l, "0x");
	do
		t[i++] = "0123456789abcdef"[v & 15];
	while (v >>= 4);
	while (i && l->n < sizeof l->b - 1)
		l->b[l->n++] = t[--i];
}
static inline void ln_d(struct line *l, long v)
{
	char t[24];
	int i = 0;
	u64 u = v < 0 ? -(u64)v : (u64)v;
	do
		t[i++] = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		t[i++] = '-';
	while (i && l->n < sizeof l->b - 1)
		l->b[l->n++] = t[--i];
}
static inline void ln_write(int fd, struct line *l)
{
	l->b[l->n++] = '\n';
	sys_write(fd, l->b, l->n);
	l->n = 0;
}

static inline ul parse_hex(const char **pp)
{
	const char *p = *pp;
	ul v = 0;
	for (;; p++) {
		char c = *p;
		if (c >= '0' && c <= '9')
			v = v * 16 + (ul)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (ul)(c - 'a' + 10);
		else
			break;
	}
	*pp = p;
	return v;
}

/* Entry: _start -> cmain(initial sp). */
__asm__(".text\n.globl _start\n_start:\n xor %rbp,%rbp\n mov %rsp,%rdi\n and $-16,%rsp\n call cmain\n hlt\n");

/* Switch to another stack and call fn(arg); never returns. */
static inline void __attribute__((noreturn)) switch_stack(void *top, void (*fn)(void *), void *arg)
{
	__asm__ volatile("mov %0, %%rsp\n xor %%ebp, %%ebp\n mov %2, %%rdi\n call *%1\n hlt"
			 :
			 : "r"(top), "r"(fn), "r"(arg)
			 : "memory");
	__builtin_unreachable();
}

/* clone3 for a thread: the child starts on args->stack and calls fn(arg); returns the
 * child's tid (or -errno) in the parent. r8/r9 survive the syscall in the child. */
long clone3_thread(void *args, ul size, void (*fn)(long), long arg);
__asm__(".text\n.globl clone3_thread\nclone3_thread:\n"
	" mov %rdx, %r8\n mov %rcx, %r9\n mov $435, %eax\n syscall\n test %rax, %rax\n jnz 1f\n"
	" xor %ebp, %ebp\n mov %r9, %rdi\n call *%r8\n ud2\n1: ret\n");

#endif
