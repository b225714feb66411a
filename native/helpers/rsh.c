/* cairn-rsh: what MPI launchers run instead of ssh inside a cairn job.
 *
 *   cairn-rsh [ssh options] HOST COMMAND...
 *
 * cairn sets OMPI_MCA_plm_rsh_agent and HYDRA_LAUNCHER_EXEC to this program, so mpirun
 * (or an orted spawning the next level of its tree) runs it to start a daemon on HOST.
 * Rather than log in with ssh, which would start the daemon outside the job, it:
 *   1. listens on a TCP port of this host, with a one-time token;
 *   2. asks the job's agent on this host (CAIRN_AGENT_SOCKET) to have the coordinator
 *      start `cairn launch ... cairn-relay TOKEN PORT ADDRS COMMAND` on HOST: a new
 *      member of the same job there;
 *   3. accepts the relay's connection (the first that shows the token) and copies
 *      between its own stdin/stdout and that connection until the connection ends.
 * The relay puts the connection on its 0/1/2 and execs `sh -c COMMAND`. The daemon's
 * stdio is then a TCP connection between two processes of the job, which a checkpoint
 * saves like any other; this process is an ordinary job process blocked in poll().
 * Errors: one line on stderr, exit 255 (what ssh returns when it cannot connect). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ACCEPT_TIMEOUT_MS 180000
#define TOKEN_TIMEOUT_MS 10000

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "cairn-rsh: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(255);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ssh options that take a value (ssh(1)); every other option is a flag. */
static int takes_value(char c)
{
	return c && strchr("BbcDEeFIiJLlmOoPpQRSWw", c) != NULL;
}

/* Index of HOST in argv, past ssh's options (-x, -l user, -oX=Y, -p22, ...). */
static int host_index(int argc, char **argv)
{
	int i = 1;
	while (i < argc && argv[i][0] == '-' && argv[i][1]) {
		if (!strcmp(argv[i], "--"))
			return i + 1;
		const char *o = argv[i] + 1;
		int next = 0;
		for (; *o; o++)
			if (takes_value(*o)) {
				next = o[1] == 0; /* "-l user" rather than "-luser" */
				break;
			}
		i += 1 + next;
	}
	return i;
}

/* One line from fd into buf (without the newline), waiting at most ms. */
static int read_line(int fd, char *buf, size_t cap, int ms)
{
	size_t n = 0;
	long end = now_ms() + ms;
	while (n + 1 < cap) {
		struct pollfd p = { fd, POLLIN, 0 };
		long left = end - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf[n] == '\n') {
			buf[n] = 0;
			return 0;
		}
		n++;
	}
	return -1;
}

/* Asks the agent to start the relay on host; returns only once it has. */
static void ask_agent(const char *host, int port, const char *token, const char *command)
{
	const char *name = getenv("CAIRN_AGENT_SOCKET");
	if (!name || !*name)
		die("CAIRN_AGENT_SOCKET is not set: run MPI under `cairn launch` (start daemons on %s there)", host);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	if (len >= sizeof a.sun_path)
		die("CAIRN_AGENT_SOCKET is too long: %s", name);
	memcpy(a.sun_path, name, len);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		die("cannot reach this host's cairn agent (%s); a job restarted by cairn cannot start new daemons", strerror(errno));
	char head[512];
	int n = snprintf(head, sizeof head, "spawn\nhost %s\nport %d\ntoken %s\ncommand %zu\n", host, port, token, strlen(command));
	if (n < 0 || (size_t)n >= sizeof head)
		die("host name too long: %s", host);
	if (write_all(fd, head, (size_t)n) || write_all(fd, command, strlen(command)))
		die("the cairn agent went away (%s)", strerror(errno));
	char reply[1024];
	if (read_line(fd, reply, sizeof reply, ACCEPT_TIMEOUT_MS) < 0)
		die("no answer from the cairn agent while starting a daemon on %s", host);
	close(fd);
	if (strncmp(reply, "ok", 2) != 0)
		die("%s", reply[0] ? reply : "the cairn agent refused");
}

/* The relay's connection: the first one that shows the token. */
static int accept_relay(int lfd, const char *token, const char *host)
{
	long end = now_ms() + ACCEPT_TIMEOUT_MS;
	for (;;) {
		struct pollfd p = { lfd, POLLIN, 0 };
		long left = end - now_ms();
		if (left <= 0)
			die("the daemon on %s did not connect back in time", host);
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		char got[128];
		if (read_line(c, got, sizeof got, TOKEN_TIMEOUT_MS) == 0 && !strcmp(got, token))
			return c;
		close(c);
	}
}

/* stdin -> connection, connection -> stdout, until the connection ends. */
static int pump(int sock)
{
	char buf[65536];
	int in_open = 1;
	for (;;) {
		struct pollfd p[2] = { { sock, POLLIN, 0 }, { in_open ? 0 : -1, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 255;
		}
		if (p[0].revents) {
			ssize_t r = read(sock, buf, sizeof buf);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return 0;
			if (write_all(1, buf, (size_t)r))
				return 255;
		}
		if (p[1].revents) {
			ssize_t r = read(0, buf, sizeof buf);
			if (r < 0 && errno == EINTR)
				continue;
			/* No shutdown at EOF: the daemons never read their stdin, and a connection
			 * left whole is the simplest one to checkpoint. */
			if (r <= 0)
				in_open = 0;
			else if (write_all(sock, buf, (size_t)r))
				return 255;
		}
	}
}

int main(int argc, char **argv)
{
	int h = host_index(argc, argv);
	if (h >= argc)
		die("%s", "usage: cairn-rsh [ssh options] HOST COMMAND...");
	const char *host = argv[h];
	const char *at = strrchr(host, '@');
	if (at)
		host = at + 1; /* user@host: the job runs as this user everywhere */
	if (h + 1 >= argc)
		die("no command for %s: cairn-rsh only starts daemons, it does not log in", host);
	/* The remote shell joins the words with spaces, as ssh does. */
	size_t len = 0;
	for (int i = h + 1; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *command = malloc(len + 1);
	if (!command)
		die("%s", "out of memory");
	command[0] = 0;
	for (int i = h + 1; i < argc; i++) {
		if (i > h + 1)
			strcat(command, " ");
		strcat(command, argv[i]);
	}

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	socklen_t sl = sizeof sa;
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 8) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0)
		die("cannot listen for the daemon's connection: %s", strerror(errno));
	unsigned char rnd[16];
	char token[33];
	if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
		die("getrandom: %s", strerror(errno));
	for (int i = 0; i < 16; i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);

	ask_agent(host, ntohs(sa.sin_port), token, command);
	int sock = accept_relay(lfd, token, host);
	close(lfd);
	return pump(sock);
}
