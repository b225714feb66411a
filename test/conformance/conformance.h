/* The protocol every conformance program follows (see conformance.test.ts):
 *   cf_start()  nonce + pid into ./state (O_EXCL: a program started fresh where an
 *               earlier run left its state fails, so a no-op "restart" fails every check)
 *   ...set up one kernel object, remember in memory what it should be...
 *   cf_wait()   create ./ready, then poll for ./go (the runner checkpoints, kills and
 *               restarts the job meanwhile)
 *   ...verify the object, CHECK(cond, "what is wrong")...
 *   return cf_pass();   (checks pid and nonce once more)
 * A failure prints one line to stderr and exits 1. */
#ifndef CONFORMANCE_H
#define CONFORMANCE_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Absolute paths: a program may chdir (cwd.c) and must still find its files. */
static char cf_dir[PATH_MAX];
static char cf_state[PATH_MAX + 16], cf_ready[PATH_MAX + 16], cf_go[PATH_MAX + 16];
static uint64_t cf_nonce;
static pid_t cf_pid;

__attribute__((format(printf, 1, 2), noreturn)) static inline void cf_fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* One write: the line is not interleaved with another thread's. */
	char line[600];
	int n = snprintf(line, sizeof line, "FAIL: %s\n", msg);
	if (write(2, line, n > (int)sizeof line - 1 ? (int)sizeof line - 1 : n) < 0) {
		/* nothing more to say */
	}
	_exit(1);
}

#define CHECK(cond, ...) do { if (!(cond)) cf_fail(__VA_ARGS__); } while (0)
/* A call that must succeed; names the call and errno. */
#define OK(call) ({ __typeof__(call) cf_r_ = (call); if (cf_r_ == (__typeof__(call))-1) cf_fail("%s: %s", #call, strerror(errno)); cf_r_; })

static inline void cf_sleep_ms(long ms)
{
	struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&d, &d) == -1 && errno == EINTR) {
	}
}

static inline int cf_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static inline void cf_touch(const char *p)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) cf_fail("cannot create %s: %s", p, strerror(errno));
	close(fd);
}

static inline void cf_start(void)
{
	if (!getcwd(cf_dir, sizeof cf_dir)) cf_fail("getcwd: %s", strerror(errno));
	snprintf(cf_state, sizeof cf_state, "%s/state", cf_dir);
	snprintf(cf_ready, sizeof cf_ready, "%s/ready", cf_dir);
	snprintf(cf_go, sizeof cf_go, "%s/go", cf_dir);
	if (getrandom(&cf_nonce, sizeof cf_nonce, 0) != sizeof cf_nonce) cf_fail("getrandom: %s", strerror(errno));
	cf_pid = getpid();
	int fd = open(cf_state, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST) cf_fail("started fresh: state from an earlier run exists");
	if (fd < 0) cf_fail("cannot create state: %s", strerror(errno));
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%016llx %d\n", (unsigned long long)cf_nonce, (int)cf_pid);
	if (write(fd, buf, n) != n) cf_fail("cannot write state: %s", strerror(errno));
	close(fd); /* no descriptor of the protocol stays open across the checkpoint */
}

/* Polls for ./go; tick (may be NULL) runs every round, e.g. to sample a clock. */
static inline void cf_wait_tick(void (*tick)(void))
{
	cf_touch(cf_ready);
	while (!cf_exists(cf_go)) {
		if (tick) tick();
		cf_sleep_ms(20);
	}
}

static inline void cf_wait(void) { cf_wait_tick(NULL); }

/* Only returns once the process is the one that wrote ./state: same pid, same nonce. */
static inline void cf_check_identity(void)
{
	CHECK(getpid() == cf_pid, "getpid() is %d, was %d", (int)getpid(), (int)cf_pid);
	char buf[64] = { 0 };
	int fd = open(cf_state, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0, "cannot open state: %s", strerror(errno));
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	CHECK(n > 0, "state is empty");
	unsigned long long nonce = 0;
	int pid = 0;
	CHECK(sscanf(buf, "%llx %d", &nonce, &pid) == 2, "state is malformed");
	CHECK(nonce == cf_nonce, "nonce in memory %016llx differs from state %016llx", (unsigned long long)cf_nonce, nonce);
	CHECK(pid == cf_pid, "pid in state %d differs from %d", pid, (int)cf_pid);
}

static inline int cf_pass(void)
{
	cf_check_identity();
	return 0;
}

static inline long long cf_now_ns(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static inline pid_t cf_gettid(void) { return (pid_t)syscall(SYS_gettid); }

/* Reads a whole small file (e.g. under /proc) into buf; returns its length. */
static inline size_t cf_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) cf_fail("cannot open %s: %s", path, strerror(errno));
	size_t len = 0;
	ssize_t n;
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0) len += n;
	close(fd);
	buf[len] = 0;
	return len;
}

/* " VmFlags... " (each two-letter flag between spaces) of the mapping of /proc/self/smaps
 * that holds address a, in out; 0 if none holds it. smaps: that file's text. */
static inline int cf_vmflags_at(const char *smaps, const void *a, char *out, size_t cap)
{
	for (const char *l = smaps; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		char *e;
		unsigned long s = strtoul(l, &e, 16);
		if (*e != '-') continue; /* not a mapping's first line */
		unsigned long end = strtoul(e + 1, NULL, 16);
		if ((unsigned long)a < s || (unsigned long)a >= end) continue;
		const char *f = strstr(l, "\nVmFlags:");
		if (!f) return 0;
		f += 9;
		size_t n = strcspn(f, "\n");
		snprintf(out, cap, "%.*s ", (int)n, f);
		return 1;
	}
	return 0;
}

#endif
