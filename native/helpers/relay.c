/* cairn-relay: the remote half of cairn-rsh (see rsh.c).
 *
 *   cairn-relay TOKEN PORT ADDR[,ADDR...] COMMAND
 *
 * Started by `cairn launch` on the daemon's host, as the main process of a new member of
 * the job. Connects to cairn-rsh at the first ADDR:PORT that answers, sends TOKEN, puts
 * the connection on its stdin, stdout and stderr, and execs `/bin/sh -c COMMAND`, as the
 * remote shell of ssh would. Errors: one line on stderr (the agent's log), exit 255. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TRY_FOR_MS 60000
#define CONNECT_TIMEOUT_MS 3000

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int try_connect(const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	struct pollfd p = { fd, POLLOUT, 0 };
	int err = 0;
	socklen_t el = sizeof err;
	if (poll(&p, 1, CONNECT_TIMEOUT_MS) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, 0); /* the daemon gets an ordinary blocking descriptor */
	return fd;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "cairn-relay: usage: cairn-relay TOKEN PORT ADDR[,ADDR...] COMMAND\n");
		return 255;
	}
	const char *token = argv[1];
	int port = atoi(argv[2]);
	int fd = -1;
	long end = now_ms() + TRY_FOR_MS;
	while (fd < 0 && now_ms() < end) {
		char *addrs = strdup(argv[3]);
		for (char *save = NULL, *a = strtok_r(addrs, ",", &save); a && fd < 0; a = strtok_r(NULL, ",", &save))
			fd = try_connect(a, port);
		free(addrs);
		if (fd < 0)
			usleep(200000);
	}
	if (fd < 0) {
		fprintf(stderr, "cairn-relay: cannot reach cairn-rsh at %s port %d: %s\n", argv[3], port, strerror(errno));
		return 255;
	}
	char line[160];
	int n = snprintf(line, sizeof line, "%s\n", token);
	if (n <= 0 || write(fd, line, (size_t)n) != n) {
		fprintf(stderr, "cairn-relay: sending the token: %s\n", strerror(errno));
		return 255;
	}
	for (int i = 0; i < 3; i++)
		if (dup2(fd, i) < 0)
			return 255;
	if (fd > 2)
		close(fd);
	execl("/bin/sh", "sh", "-c", argv[4], (char *)NULL);
	fprintf(stderr, "cairn-relay: exec /bin/sh: %s\n", strerror(errno));
	return 127;
}
