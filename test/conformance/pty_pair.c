/* A pseudo-terminal made in the job, as Open MPI's mpirun makes one per local rank for its
 * stdout: the parent holds the master, the child's stdout is the slave (opened by path, no
 * controlling terminal). Output the child wrote before the checkpoint and the parent had
 * not read yet is there after restart, byte for byte ("\n" became "\r\n" when written);
 * the slave's mode (echo off) and the window size are kept; output written after restart
 * is processed by the same mode. */
#define _GNU_SOURCE
#include "conformance.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

static int read_exact(int m, char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		struct pollfd p = { m, POLLIN, 0 };
		if (poll(&p, 1, 5000) != 1)
			return -1;
		ssize_t r = read(m, buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

int main(void)
{
	cf_start();
	int m = OK(posix_openpt(O_RDWR | O_NOCTTY));
	OK(grantpt(m));
	OK(unlockpt(m));
	struct winsize ws = { .ws_row = 33, .ws_col = 111 };
	OK(ioctl(m, TIOCSWINSZ, &ws));
	char path[64];
	snprintf(path, sizeof path, "%s", ptsname(m));
	int go[2];
	OK(pipe(go));
	pid_t child = OK(fork());
	if (child == 0) {
		close(m);
		close(go[1]);
		int s = open(path, O_RDWR | O_NOCTTY);
		if (s < 0)
			_exit(20);
		struct termios t;
		if (tcgetattr(s, &t) < 0)
			_exit(21);
		t.c_lflag &= ~(tcflag_t)ECHO;
		if (tcsetattr(s, TCSANOW, &t) < 0)
			_exit(22);
		dup2(s, 1);
		close(s);
		if (write(1, "before\n", 7) != 7)
			_exit(23);
		char c;
		if (read(go[0], &c, 1) != 1) /* blocks across the checkpoint */
			_exit(24);
		struct winsize w;
		if (ioctl(1, TIOCGWINSZ, &w) < 0 || w.ws_row != 33 || w.ws_col != 111)
			_exit(25);
		if (tcgetattr(1, &t) < 0 || (t.c_lflag & ECHO) || !(t.c_oflag & OPOST))
			_exit(26);
		if (write(1, "after\n", 6) != 6)
			_exit(27);
		_exit(0);
	}
	close(go[0]);
	/* the child's first line waits in the master, unread, over the checkpoint */
	for (int i = 0; i < 1000; i++) {
		int n = 0;
		if (ioctl(m, FIONREAD, &n) == 0 && n >= 8)
			break;
		cf_sleep_ms(5);
	}
	cf_wait();
	char buf[32] = { 0 };
	CHECK(read_exact(m, buf, 8) == 0 && !memcmp(buf, "before\r\n", 8), "the output in flight: got '%s'", buf);
	CHECK(write(go[1], "g", 1) == 1, "write go: %s", strerror(errno));
	memset(buf, 0, sizeof buf);
	CHECK(read_exact(m, buf, 7) == 0 && !memcmp(buf, "after\r\n", 7), "the output after restart: got '%s'", buf);
	int st = 0;
	CHECK(waitpid(child, &st, 0) == child, "waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child ended with status %#x (25: window size, 26: mode)", st);
	return cf_pass();
}
