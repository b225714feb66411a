/* Part of cairn-restorer (included by restorer.c before restorer_fds.c): sockets. Called
 * from stage2 after chdir and umask (a relative UNIX path binds where it did) and before
 * restore_fds, which dup's each socket into place (open_fd_kind); finish_fd_kinds closes
 * the ends kept above fd_floor. Sockets made by the agent (passed) are skipped. */

enum {
	SK_NR_socket = 41, SK_NR_connect = 42, SK_NR_sendto = 44, SK_NR_shutdown = 48, SK_NR_bind = 49,
	SK_NR_listen = 50, SK_NR_socketpair = 53, SK_NR_setsockopt = 54, SK_NR_getsockopt = 55, SK_NR_fchmodat = 268,
};
#define SK_AF_UNIX 1
#define SK_SOCK_CLOEXEC 02000000
#define SK_MSG_DONTWAIT 0x40
#define SK_MSG_NOSIGNAL 0x4000
#define SK_SOL_SOCKET 1
#define SK_SO_PEEK_OFF 42
#define SK_SO_REUSEADDR 2
#define SK_AT_FDCWD (-100)

static void check_table(u64 off, u64 n, u64 size, const char *what);

#define MAX_SOCKS 4096
static int sock_fds[MAX_SOCKS];
static const struct plan_socket *SK;

/* Above every descriptor of the process, close-on-exec like the other kept ends. */
static int sock_hi(long fd, u32 i)
{
	if (fd < 0)
		fail_x("socket for socket", i, fd);
	long hi = sys_fcntl((int)fd, F_DUPFD_CLOEXEC, (long)H->fd_floor);
	sys_close((int)fd);
	if (hi < 0)
		fail_x("cannot move a socket above fd_floor, socket", i, hi);
	return (int)hi;
}

static void sock_opts(int fd, const struct plan_socket *s, u32 i)
{
	if (s->nopts > PLAN_SOCK_OPTS)
		fail_x("too many socket options, socket", i, 0);
	for (u32 k = 0; k < s->nopts; k++) {
		int v = s->opts[k][2];
		long r = sc5(SK_NR_setsockopt, fd, s->opts[k][0], s->opts[k][1], (long)&v, sizeof v);
		if (r < 0)
			fail_x("setsockopt on socket", i, r);
	}
}

/* What was queued for reading on s, sent again through `from`: one send per run (a run is
 * one message of a datagram/seqpacket socket), read from the image through COPY_AREA. */
static void sock_refill(int from, const struct plan_socket *s, u32 i)
{
	if ((u64)s->first_run + s->nruns > H->nruns)
		fail_x("socket runs out of range, socket", i, 0);
	for (u32 k = 0; k < s->nruns; k++) {
		const struct plan_run *run = &R[s->first_run + k];
		ul len = (ul)run->len, map = (len + PAGE - 1) & ~(PAGE - 1);
		if (len > 0x10000000UL)
			fail_x("queued message too large, socket", i, 0);
		if (map) {
			long m = sys_mmap(COPY_AREA, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			if (m != (long)COPY_AREA)
				fail_x("mmap buffer for socket data, socket", i, m);
			pread_full(image_fd, (void *)COPY_AREA, len, run->offset, "read queued socket data into");
		}
		ul done = 0;
		do {
			long r = sc6(SK_NR_sendto, from, (long)(COPY_AREA + done), (long)(len - done),
				     SK_MSG_DONTWAIT | SK_MSG_NOSIGNAL, 0, 0);
			if (r == -EINTR)
				continue;
			if (r < 0)
				fail_x("refill queued data (send) of socket", i, r);
			if (s->type != 1 /* SOCK_STREAM */ && (ul)r != len)
				fail_x("a queued message was cut, socket", i, r);
			done += (ul)r;
		} while (done < len);
		if (map)
			sys_munmap(COPY_AREA, map);
	}
}

static void sock_finish(int fd, const struct plan_socket *s, u32 i)
{
	long r;
	if (s->peek_off >= 0) {
		int v = s->peek_off;
		if ((r = sc5(SK_NR_setsockopt, fd, SK_SOL_SOCKET, SK_SO_PEEK_OFF, (long)&v, sizeof v)) < 0)
			fail_x("SO_PEEK_OFF on socket", i, r);
	}
	/* sk_shutdown bits: 1 receive, 2 send; shutdown(how): SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2 */
	if ((s->shutdown & 3) && (r = sc2(SK_NR_shutdown, fd, (s->shutdown & 3) - 1)) < 0)
		fail_x("shutdown of socket", i, r);
}

static void create_sockets(void)
{
	check_table(H->sock_off, H->nsock, sizeof *SK, "sockets");
	if (H->nsock > MAX_SOCKS)
		fail_x("too many sockets:", H->nsock, 0);
	SK = (const struct plan_socket *)(P + H->sock_off);
	for (u32 i = 0; i < H->nsock; i++)
		sock_fds[i] = -1;
	for (u32 i = 0; i < H->nsock; i++) {
		const struct plan_socket *s = &SK[i];
		long r;
		if (s->passed || sock_fds[i] >= 0)
			continue;
		if (s->name_len > sizeof s->name || s->peer_len > sizeof s->peer_name || s->peer > H->nsock)
			fail_x("bad socket entry", i, 0);
		if (s->state == PSOCK_PAIR && s->family != SK_AF_UNIX)
			fail_x("a TCP connection not made by the agent, socket", i, 0);
		if (s->state == PSOCK_PAIR) {
			const struct plan_socket *o = s->peer ? &SK[s->peer - 1] : 0;
			if (o && (o->peer != i + 1 || o->passed || s->peer == i + 1))
				fail_x("socket pair ends disagree, socket", i, s->peer);
			int sv[2];
			if ((r = sc4(SK_NR_socketpair, SK_AF_UNIX, s->type | SK_SOCK_CLOEXEC, 0, sv)) < 0)
				fail_x("socketpair for socket", i, r);
			int a = sock_hi(sv[0], i), b = sock_hi(sv[1], i);
			sock_fds[i] = a;
			sock_opts(a, s, i);
			if (o) {
				sock_fds[s->peer - 1] = b;
				sock_opts(b, o, s->peer - 1);
			}
			/* each end's queue is filled by the other end; then shutdown (it may stop sends) */
			sock_refill(b, s, i);
			if (o)
				sock_refill(a, o, s->peer - 1);
			else
				sys_close(b); /* the peer was closed: close it again */
			sock_finish(a, s, i);
			if (o)
				sock_finish(b, o, s->peer - 1);
			continue;
		}
		int fd = sock_hi(sc3(SK_NR_socket, s->family, s->type | SK_SOCK_CLOEXEC, s->protocol), i);
		sock_fds[i] = fd;
		sock_opts(fd, s, i);
		/* A restored TCP connection (made by the agent, before) may hold this listener's
		 * port: SO_REUSEADDR while binding lets them share it; the saved value after listen. */
		int reuse = 0, one = 1;
		int tcp_listen = s->state == PSOCK_LISTEN && s->family != SK_AF_UNIX;
		if (tcp_listen) {
			int len = sizeof reuse;
			sc5(SK_NR_getsockopt, fd, SK_SOL_SOCKET, SK_SO_REUSEADDR, (long)&reuse, (long)&len);
			sc5(SK_NR_setsockopt, fd, SK_SOL_SOCKET, SK_SO_REUSEADDR, (long)&one, sizeof one);
		}
		if (s->state == PSOCK_LISTEN || (s->state == PSOCK_BOUND && s->name_len > 2)) {
			/* A TCP port the killed job's connections still hold in TIME_WAIT (when the
			 * program did not set SO_REUSEADDR, which they then lack) is free within a
			 * minute: wait for it rather than move the listener to another port. */
			for (int tries = 0; (r = sc3(SK_NR_bind, fd, s->name, s->name_len)) == -98 /* EADDRINUSE */ && tcp_listen &&
					    tries < 650;
			     tries++) {
				struct {
					long sec, nsec;
				} ts = { 0, 100000000 };
				sc2(35 /* nanosleep */, &ts, 0);
			}
			/* An address of the old host that this one lacks (a restart elsewhere): the
			 * same port on every address of this host, which is where peers now find it. */
			if (r == -99 /* EADDRNOTAVAIL */ && (s->family == 2 || s->family == 10)) {
				unsigned char any[128];
				for (unsigned k = 0; k < sizeof any; k++)
					any[k] = k < s->name_len && k < 4 ? s->name[k] : 0; /* family, port */
				r = sc3(SK_NR_bind, fd, any, s->name_len);
			}
			if (r < 0)
				fail_x("bind of socket (address in use?)", i, r);
			/* a UNIX path (not abstract): its file's permissions as they were */
			if (s->family == SK_AF_UNIX && s->name_len > 2 && s->name[2] && s->mode)
				sc4(SK_NR_fchmodat, SK_AT_FDCWD, (long)(s->name + 2), s->mode, 0);
		}
		if (s->state == PSOCK_LISTEN && (r = sc2(SK_NR_listen, fd, s->backlog)) < 0)
			fail_x("listen on socket", i, r);
		if (tcp_listen)
			sc5(SK_NR_setsockopt, fd, SK_SOL_SOCKET, SK_SO_REUSEADDR, (long)&reuse, sizeof reuse);
		if (s->state == PSOCK_BOUND && s->peer_len && (r = sc3(SK_NR_connect, fd, s->peer_name, s->peer_len)) < 0)
			fail_x("connect of datagram socket", i, r);
		sock_finish(fd, s, i);
	}
}
