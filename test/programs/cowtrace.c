// A program that would notice the copy-on-write snapshot a checkpoint takes of it: while it
// rewrites every page of its memory step after step (so pages are copied while the image is
// being written), it counts SIGCHLD, polls wait(__WALL) and its children list, and counts its
// descriptors. Anything unexpected is printed as an ANOMALY line, so its output equals an
// uninterrupted run's only if nothing was seen.
//   cowtrace OUT STEPS STEP_MS MIB [dontfork]
// dontfork: part of its memory is MADV_DONTFORK (a snapshot could not hold it).
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t sigchld;

static void on_chld(int sig)
{
	(void)sig;
	sigchld++;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d) return -1;
	while (readdir(d)) n++;
	closedir(d);
	return n;
}

/* What the descriptors are, for an ANOMALY line: "fd=target" for each, the directory's own
 * descriptor included. */
static void describe_fds(char *buf, size_t len)
{
	DIR *d = opendir("/proc/self/fd");
	size_t at = 0;
	buf[0] = 0;
	if (!d) return;
	struct dirent *e;
	while ((e = readdir(d)) && at + 1 < len) {
		if (e->d_name[0] == '.') continue;
		char path[300], target[96];
		snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(path, target, sizeof target - 1);
		target[n > 0 ? n : 0] = 0;
		at += (size_t)snprintf(buf + at, len - at, " %s=%s", e->d_name, target);
	}
	closedir(d);
}

static void children(char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)syscall(SYS_gettid));
	FILE *f = fopen(path, "r");
	buf[0] = 0;
	if (!f) return;
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc < 5) return 2;
	long steps = atol(argv[2]), ms = atol(argv[3]);
	size_t bytes = (size_t)atol(argv[4]) << 20, n = bytes / 8;
	uint64_t *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) return 3;
	if (argc > 5 && !strcmp(argv[5], "dontfork") && madvise(m, bytes / 4, MADV_DONTFORK) != 0) return 4;
	uint64_t x = 88172645463325252ULL;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		m[i] = x;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	pid_t kid = fork();
	if (kid == 0) {
		for (;;) pause();
	}
	FILE *out = fopen(argv[1], "a");
	if (!out) return 5;
	char want[32], seen[256];
	snprintf(want, sizeof want, "%d ", (int)kid);
	const int fds = count_fds();
	for (long s = 0; s < steps; s++) {
		for (size_t i = (size_t)s % 512; i < n; i += 512) m[i] = m[i] * 6364136223846793005ULL + (uint64_t)s;
		uint64_t sum = 0;
		for (size_t i = 0; i < n; i += 64) sum = sum * 1099511628211ULL + m[i];
		if (sigchld) fprintf(out, "ANOMALY step %ld: %d SIGCHLD\n", s, (int)sigchld), sigchld = 0;
		int st;
		pid_t w = waitpid(-1, &st, WNOHANG | __WALL);
		if (w != 0) fprintf(out, "ANOMALY step %ld: wait(__WALL) gave %d\n", s, (int)w);
		children(seen, sizeof seen);
		if (strcmp(seen, want)) fprintf(out, "ANOMALY step %ld: children \"%s\"\n", s, seen);
		int f = count_fds();
		if (f != fds) {
			char what[1024];
			describe_fds(what, sizeof what);
			fprintf(out, "ANOMALY step %ld: %d descriptors, not %d:%s\n", s, f, fds, what);
		}
		fprintf(out, "step %ld sum %016llx\n", s, (unsigned long long)sum);
		fflush(out);
		struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };
		nanosleep(&d, NULL);
	}
	kill(kid, SIGKILL);
	int st;
	pid_t w = waitpid(kid, &st, 0);
	fprintf(out, "child %s, killed by %d; SIGCHLD %d\n", w == kid ? "reaped" : "lost", WIFSIGNALED(st) ? WTERMSIG(st) : 0, (int)sigchld);
	fprintf(out, "done\n");
	return 0;
}
