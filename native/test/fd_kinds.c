/* Descriptor and memory kinds across a checkpoint: each mode sets one kind up, sleeps while
 * the test checkpoints, kills and restores it, then checks the state it should find. Exit 0
 * and "ok MODE" when everything is as before; "FAIL MODE: what" and exit 1 otherwise. Run it
 * without a checkpoint to see the checks pass on an undisturbed run too.
 *
 *   fd_kinds MODE [SLEEP_MS]   MODE: eventfd timerfd signalfd epoll inotify memfd shmanon
 *                                    deleted locks highfd
 * Build: cc -O2 -o fd_kinds fd_kinds.c   (run in a scratch directory: it creates files there) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *mode;
#define CHECK(c, ...)                                      \
	do {                                               \
		if (!(c)) {                                \
			printf("FAIL %s: ", mode);         \
			printf(__VA_ARGS__);               \
			printf(" (line %d)\n", __LINE__);  \
			exit(1);                           \
		}                                          \
	} while (0)

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0) {
	}
}

static double ts_s(struct timespec t) { return t.tv_sec + t.tv_nsec / 1e9; }

static int count_lines(int fd, const char *prefix)
{
	char p[64], b[8192];
	snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
	int f = open(p, O_RDONLY);
	ssize_t n = read(f, b, sizeof b - 1);
	close(f);
	b[n > 0 ? n : 0] = 0;
	int c = 0;
	for (char *s = b; (s = strstr(s, prefix)); s++)
		c++;
	return c;
}

int main(int argc, char **argv)
{
	mode = argc > 1 ? argv[1] : "?";
	long nap = argc > 2 ? atol(argv[2]) : 1500;
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(mode, "eventfd")) {
		int e = eventfd(5, EFD_SEMAPHORE | EFD_NONBLOCK);
		uint64_t v = 3;
		write(e, &v, 8);
		int e2 = eventfd(0, 0);
		v = 0x123456789ULL;
		write(e2, &v, 8);
		sleep_ms(nap);
		CHECK(fcntl(e, F_GETFL) & O_NONBLOCK, "O_NONBLOCK lost");
		for (int i = 0; i < 8; i++)
			CHECK(read(e, &v, 8) == 8 && v == 1, "semaphore read %d gave %llu", i, (unsigned long long)v);
		CHECK(read(e, &v, 8) < 0 && errno == EAGAIN, "counter not exhausted after 8 reads");
		CHECK(read(e2, &v, 8) == 8 && v == 0x123456789ULL, "counter %llx", (unsigned long long)v);
		CHECK(!(fcntl(e2, F_GETFL) & O_NONBLOCK), "O_NONBLOCK appeared");
	} else if (!strcmp(mode, "timerfd")) {
		int periodic = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
		struct itimerspec its = { { 0, 100000000 }, { 1, 200000000 } };   /* first at 1.2 s, then every 0.1 s */
		timerfd_settime(periodic, 0, &its, NULL);
		int far = timerfd_create(CLOCK_BOOTTIME, 0);
		struct itimerspec f = { { 0, 0 }, { 100, 0 } };
		timerfd_settime(far, 0, &f, NULL);
		int fired = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
		struct itimerspec s = { { 0, 0 }, { 0, 50000000 } };   /* expires before the checkpoint, never read */
		timerfd_settime(fired, 0, &s, NULL);
		int absrt = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		struct itimerspec a = { { 0, 0 }, { now.tv_sec + 50, now.tv_nsec } };
		timerfd_settime(absrt, TFD_TIMER_ABSTIME, &a, NULL);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		sleep_ms(nap);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double el = ts_s(t1) - ts_s(t0);
		uint64_t ticks = 0;
		CHECK(read(periodic, &ticks, 8) == 8, "periodic timer did not fire (elapsed %.3f)", el);
		long want = (long)((el - 1.2) / 0.1) + 1;
		CHECK((long)ticks >= want - 2 && (long)ticks <= want + 2, "periodic ticks %llu, expected about %ld",
		      (unsigned long long)ticks, want);
		struct itimerspec g;
		timerfd_gettime(far, &g);
		double left = ts_s(g.it_value);
		CHECK(left > 100 - el - 0.5 && left < 100 - el + 0.5, "far timer has %.3f s left after %.3f s", left, el);
		CHECK(read(fired, &ticks, 8) == 8 && ticks == 1, "expired timer: %llu unread ticks", (unsigned long long)ticks);
		timerfd_gettime(absrt, &g);
		left = ts_s(g.it_value);
		CHECK(left > 50 - el - 1 && left < 50 - el + 1, "absolute realtime timer has %.3f s left", left);
		CHECK(fcntl(periodic, F_GETFL) & O_NONBLOCK, "O_NONBLOCK lost");
	} else if (!strcmp(mode, "signalfd")) {
		sigset_t m;
		sigemptyset(&m);
		sigaddset(&m, SIGUSR1);
		sigaddset(&m, SIGRTMIN + 3);
		sigprocmask(SIG_BLOCK, &m, NULL);
		int sf = signalfd(-1, &m, SFD_NONBLOCK);
		sleep_ms(nap);
		CHECK(fcntl(sf, F_GETFL) & O_NONBLOCK, "O_NONBLOCK lost");
		struct signalfd_siginfo si;
		CHECK(read(sf, &si, sizeof si) < 0 && errno == EAGAIN, "a signal was pending");
		kill(getpid(), SIGRTMIN + 3);
		CHECK(read(sf, &si, sizeof si) == sizeof si && si.ssi_signo == (unsigned)SIGRTMIN + 3, "no SIGRTMIN+3");
		kill(getpid(), SIGUSR1);
		CHECK(read(sf, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1, "no SIGUSR1");
	} else if (!strcmp(mode, "epoll")) {
		int ep = epoll_create1(EPOLL_CLOEXEC);
		int e1 = eventfd(1, 0), e2 = eventfd(0, 0);
		struct epoll_event ev = { EPOLLIN, { .u64 = 0xdeadbeef12345678ULL } };
		epoll_ctl(ep, EPOLL_CTL_ADD, e1, &ev);
		struct epoll_event ev2 = { EPOLLIN | EPOLLET, { .u64 = 42 } };
		epoll_ctl(ep, EPOLL_CTL_ADD, e2, &ev2);
		int ep2 = epoll_create1(0);   /* an empty one */
		sleep_ms(nap);
		CHECK(fcntl(ep, F_GETFD) & FD_CLOEXEC, "FD_CLOEXEC lost");
		CHECK(count_lines(ep, "tfd:") == 2 && count_lines(ep2, "tfd:") == 0, "registrations lost");
		struct epoll_event out[4];
		int n = epoll_wait(ep, out, 4, 0);
		CHECK(n == 1 && out[0].data.u64 == 0xdeadbeef12345678ULL && out[0].events == EPOLLIN, "ready list: %d", n);
		uint64_t v = 1;
		write(e2, &v, 8);
		n = epoll_wait(ep, out, 4, 0);
		CHECK(n == 2, "after a write: %d ready", n);
		CHECK((out[0].data.u64 == 42) + (out[1].data.u64 == 42) == 1, "data of the edge-triggered target");
		n = epoll_wait(ep, out, 4, 0);
		CHECK(n == 1, "edge-triggered target reported again (%d)", n);
	} else if (!strcmp(mode, "inotify")) {
		int in = inotify_init1(IN_NONBLOCK);
		int w1 = inotify_add_watch(in, ".", IN_CREATE);
		int fd = open("watched", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		close(fd);
		int w2 = inotify_add_watch(in, "watched", IN_MODIFY);
		inotify_rm_watch(in, w1);
		w1 = inotify_add_watch(in, ".", IN_CREATE | IN_DELETE);   /* wd 3 */
		char buf[4096];
		while (read(in, buf, sizeof buf) > 0) {
		}
		sleep_ms(nap);
		CHECK(count_lines(in, "inotify wd:") == 2, "watches lost");
		fd = open("created", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		close(fd);
		ssize_t n = read(in, buf, sizeof buf);
		struct inotify_event *e = (struct inotify_event *)buf;
		CHECK(n > 0 && e->wd == w1 && (e->mask & IN_CREATE) && !strcmp(e->name, "created"), "create event (n=%zd wd=%d)",
		      n, n > 0 ? e->wd : -1);
		fd = open("watched", O_WRONLY | O_APPEND);
		write(fd, "x", 1);
		close(fd);
		n = read(in, buf, sizeof buf);
		CHECK(n > 0 && e->wd == w2 && (e->mask & IN_MODIFY), "modify event (n=%zd wd=%d)", n, n > 0 ? e->wd : -1);
		unlink("created");
	} else if (!strcmp(mode, "memfd")) {
		int m = memfd_create("cairn-test", MFD_ALLOW_SEALING);
		ftruncate(m, 2 << 20);
		for (int i = 0; i < 3; i++) {
			char b[4096];
			memset(b, 'a' + i, sizeof b);
			pwrite(m, b, sizeof b, i * 4096);
		}
		pwrite(m, "tail", 4, (1 << 20) + 7);
		char *p1 = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, m, 4096);
		char *p2 = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
		memcpy(p1 + 100, "shared", 6);
		fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
		lseek(m, 4100, SEEK_SET);
		int only = memfd_create("mapped-only", 0);   /* its descriptor closed: only the mapping keeps it */
		ftruncate(only, 4096);
		char *p3 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, only, 0);
		close(only);
		strcpy(p3, "only mapped");
		sleep_ms(nap);
		char link[256] = "";
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", m);
		readlink(path, link, sizeof link - 1);
		CHECK(!strcmp(link, "/memfd:cairn-test (deleted)"), "link %s", link);
		CHECK(fcntl(m, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW), "seals %d", fcntl(m, F_GET_SEALS));
		struct stat st;
		fstat(m, &st);
		CHECK(st.st_size == 2 << 20, "size %lld", (long long)st.st_size);
		CHECK(lseek(m, 0, SEEK_CUR) == 4100, "offset %lld", (long long)lseek(m, 0, SEEK_CUR));
		CHECK(p2[0] == 'a' && p2[4096] == 'b' && p2[8191 + 4096] == 'c' && !memcmp(p2 + 4096 + 100, "shared", 6),
		      "contents through the second mapping");
		char t[5] = "";
		pread(m, t, 4, (1 << 20) + 7);
		CHECK(!memcmp(t, "tail", 4), "contents past the hole");
		memcpy(p2 + 4096 + 200, "both", 4);
		CHECK(!memcmp(p1 + 200, "both", 4), "mappings no longer shared");
		pread(m, t, 4, 4096 + 200);
		CHECK(!memcmp(t, "both", 4), "mapping and descriptor no longer shared");
		CHECK(!strcmp(p3, "only mapped"), "mapping-only memfd contents");
	} else if (!strcmp(mode, "shmanon")) {
		char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		strcpy(p + 4096, "anon shared");
		pid_t c = fork();
		if (c == 0) {   /* the child's write shows in the parent: shared memory */
			strcpy(p, "from child");
			_exit(0);
		}
		waitpid(c, NULL, 0);
		sleep_ms(nap);
		CHECK(!strcmp(p + 4096, "anon shared") && !strcmp(p, "from child"), "contents");
		strcpy(p + 8192, "still writable");
	} else if (!strcmp(mode, "deleted")) {
		int d = open("doomed", O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0640);
		write(d, "hello world", 11);
		char *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, d, 0);
		int r = open("doomed", O_RDONLY);
		lseek(r, 6, SEEK_SET);
		unlink("doomed");
		sleep_ms(nap);
		struct stat st;
		fstat(d, &st);
		CHECK(st.st_nlink == 0 && st.st_size == 11, "nlink %ld size %lld", (long)st.st_nlink, (long long)st.st_size);
		CHECK((fcntl(d, F_GETFL) & (O_APPEND | O_ACCMODE)) == (O_APPEND | O_RDWR), "flags %o", fcntl(d, F_GETFL));
		CHECK((fcntl(r, F_GETFL) & O_ACCMODE) == O_RDONLY, "read-only descriptor flags");
		char b[16] = "";
		CHECK(read(r, b, 5) == 5 && !memcmp(b, "world", 5), "read at offset 6: %s", b);
		write(d, "!", 1);
		CHECK(map[11] == '!', "mapping and descriptor no longer the same file");
		map[0] = 'J';
		pread(r, b, 1, 0);
		CHECK(b[0] == 'J', "mapping writes not in the file");
	} else if (!strcmp(mode, "locks")) {
		int a = open("lock-a", O_RDWR | O_CREAT, 0644);
		int b = open("lock-b", O_RDWR | O_CREAT, 0644);
		int b2 = open("lock-b", O_RDWR);
		flock(a, LOCK_EX);
		struct flock w = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 5 };
		fcntl(b, F_SETLK, &w);
		struct flock o = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 0 };
		fcntl(b2, F_OFD_SETLK, &o);
		sleep_ms(nap);
		pid_t me = getpid();
		pid_t c = fork();
		if (c == 0) {
			int x = open("lock-a", O_RDWR);
			if (flock(x, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
				_exit(1);
			int y = open("lock-b", O_RDWR);
			struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 12, .l_len = 1 };
			if (fcntl(y, F_GETLK, &q) < 0 || q.l_type != F_WRLCK || q.l_pid != me || q.l_start != 10 || q.l_len != 5)
				_exit(2);
			struct flock q2 = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5000, .l_len = 1 };
			if (fcntl(y, F_OFD_GETLK, &q2) < 0 || q2.l_type != F_RDLCK || q2.l_start != 100 || q2.l_len != 0)
				_exit(3);
			struct flock q3 = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 20, .l_len = 10 };
			if (fcntl(y, F_GETLK, &q3) < 0 || q3.l_type != F_UNLCK)
				_exit(4);
			_exit(0);
		}
		int st;
		waitpid(c, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "lock check %d failed in a child", WEXITSTATUS(st));
	} else if (!strcmp(mode, "highfd")) {
		struct rlimit rl;
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;   /* descriptors above the default soft limit of 1024 */
		setrlimit(RLIMIT_NOFILE, &rl);
		int f = open("high.txt", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
		write(f, "abc", 3);
		dup2(f, 2000);
		close(f);
		lseek(2000, 0, SEEK_SET);
		int g = open("high.txt", O_RDONLY | O_NONBLOCK);
		dup3(g, 1500, O_CLOEXEC);
		close(g);
		lseek(1500, 1, SEEK_SET);
		int dfd = open("direct.bin", O_RDWR | O_CREAT | O_DIRECT, 0644);
		int direct = dfd >= 0;   /* tmpfs refuses O_DIRECT: then nothing to check */
		sleep_ms(nap);
		CHECK((fcntl(2000, F_GETFL) & (O_APPEND | O_ACCMODE)) == (O_APPEND | O_WRONLY), "fd 2000 flags");
		CHECK(!(fcntl(2000, F_GETFD) & FD_CLOEXEC) && (fcntl(1500, F_GETFD) & FD_CLOEXEC), "close-on-exec flags");
		CHECK((fcntl(1500, F_GETFL) & O_NONBLOCK), "fd 1500 O_NONBLOCK");
		write(2000, "d", 1);
		char b[8] = "";
		CHECK(read(1500, b, 8) == 3 && !memcmp(b, "bcd", 3), "O_APPEND write or offset: %s", b);
		if (direct)
			CHECK(fcntl(dfd, F_GETFL) & O_DIRECT, "O_DIRECT lost");
	} else {
		printf("unknown mode %s\n", mode);
		return 2;
	}
	printf("ok %s\n", mode);
	return 0;
}
