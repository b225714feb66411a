/* cairn-nsinit: creates the job's namespaces and is (through its child) PID 1 of them.
 *
 *   cairn-nsinit launch  --sock FD [--mono NS --boot NS] [--hostname H] -- PROG ARGS...
 *   cairn-nsinit restore --sock FD --pid NSPID --restorer PATH --time-fd FD [--hostname H]
 *                        [--ipc FD --ipc-off N --ipc-len N]
 *
 * Contract: docs/ENGINE.md. The agent (a multi-threaded Node process) cannot unshare a user
 * namespace itself, so this small single-threaded program does it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#define CAP_CR 40   /* CAP_CHECKPOINT_RESTORE */

static const char *prog = "cairn-nsinit";

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	_exit(125);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(s);
	ssize_t n = write(fd, s, len);
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)len ? 0 : -1;
}

static int send_tag(int sock, char tag)
{
	/* The agent's end has SO_PASSCRED: the kernel attaches our pid, translated to the
	 * agent's namespace, which is how the agent learns host pids. */
	ssize_t r;
	do
		r = send(sock, &tag, 1, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == 1 ? 0 : -1;
}

static int wait_go(int sock)
{
	char c = 0;
	ssize_t r;
	do
		r = recv(sock, &c, 1, 0);
	while (r < 0 && errno == EINTR);
	return r == 1 && c == 'G' ? 0 : -1;
}

static void offset_line(char *buf, size_t len, const char *clock, long ns);

static int capset_words(uint32_t eff0, uint32_t prm0, uint32_t inh0, uint32_t eff1, uint32_t prm1, uint32_t inh1)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { eff0, prm0, inh0 }, { eff1, prm1, inh1 } };
	return (int)syscall(SYS_capset, &h, d);
}

static int drop_all_caps(void)
{
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return capset_words(0, 0, 0, 0, 0, 0);
}

/* The restorer needs clone3(set_tid) and PR_SET_MM exe_fd after exec as a non-zero uid, and
 * setns into the job's time namespace once init has made it: keep CAP_CHECKPOINT_RESTORE and
 * CAP_SYS_ADMIN (of the job's user namespace), as ambient capabilities. It drops them all
 * before any of the job's code runs. */
static int keep_ambient_restorer_caps(void)
{
	uint32_t cr = 1u << (CAP_CR - 32), sa = 1u << CAP_SYS_ADMIN;
	if (capset_words(sa, sa, sa, cr, cr, cr) < 0)
		return -1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0) < 0)
		return -1;
	return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CR, 0, 0);
}

/* restore: the job's time namespace, made by init once the agent sends the clock offsets (two
 * int64, monotonic and boottime, on the --time-fd pipe), which is as late as it can be: the
 * restorers fill memory meanwhile, and the job's clocks run only from then. Then init drops
 * every capability: from that moment, not before, a restorer may read init's
 * /proc/1/ns/time_for_children (ptrace read access wants the target's capabilities to be a
 * subset of the reader's), so none joins the namespace before its offsets are in. */
static void make_time_ns(int time_fd)
{
	int64_t off[2];
	size_t got = 0;
	while (got < sizeof off) {
		ssize_t r = read(time_fd, (char *)off + got, sizeof off - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(125);   /* the agent gave up the restore: nothing to report to */
		got += (size_t)r;
	}
	close(time_fd);
	if (unshare(CLONE_NEWTIME) < 0)
		die("unshare(TIME)");
	if (off[0] || off[1]) {
		char m[64], b[64], buf[128];
		offset_line(m, sizeof m, "monotonic", (long)off[0]);
		offset_line(b, sizeof b, "boottime", (long)off[1]);
		snprintf(buf, sizeof buf, "%s%s", m, b);
		if (write_file("/proc/self/timens_offsets", buf) < 0)
			die("timens_offsets");
	}
	if (drop_all_caps() < 0)
		die("drop capabilities");
}

struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static long parse_long(const char *s, const char *opt)
{
	char *e;
	errno = 0;
	long long v = strtoll(s, &e, 10);
	if (errno || *e || e == s) {
		fprintf(stderr, "%s: bad value for %s: %s\n", prog, opt, s);
		_exit(125);
	}
	return (long)v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: cairn-nsinit launch --sock FD [--mono NS --boot NS] [--hostname H] -- PROG ARGS...\n"
		"       cairn-nsinit restore --sock FD --pid NSPID --restorer PATH --time-fd FD [--hostname H]\n"
		"                            [--ipc FD --ipc-off N --ipc-len N]\n");
	_exit(125);
}

/* "monotonic S NS": the kernel wants seconds and a non-negative nanosecond part. */
static void offset_line(char *buf, size_t len, const char *clock, long ns)
{
	long sec = ns / 1000000000L, rem = ns % 1000000000L;
	if (rem < 0) {
		rem += 1000000000L;
		sec -= 1;
	}
	snprintf(buf, len, "%s %ld %ld\n", clock, sec, rem);
}

static int exit_code_of(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	int restore = 0;
	if (!strcmp(argv[1], "restore"))
		restore = 1;
	else if (strcmp(argv[1], "launch"))
		usage();

	int sock = -1;
	long mono = 0, boot = 0, nspid = 0, ipc_fd = -1, ipc_off = 0, ipc_len = 0, time_fd = -1;
	const char *hostname = NULL, *restorer = NULL;
	char **job_argv = NULL;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			job_argv = argv + i + 1;
			break;
		}
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (!strcmp(a, "--sock"))
			sock = (int)parse_long(v, a);
		else if (!strcmp(a, "--mono"))
			mono = parse_long(v, a);
		else if (!strcmp(a, "--boot"))
			boot = parse_long(v, a);
		else if (!strcmp(a, "--hostname"))
			hostname = v;
		else if (!strcmp(a, "--pid"))
			nspid = parse_long(v, a);
		else if (!strcmp(a, "--restorer"))
			restorer = v;
		else if (!strcmp(a, "--ipc"))
			ipc_fd = parse_long(v, a);
		else if (!strcmp(a, "--time-fd"))
			time_fd = parse_long(v, a);
		else if (!strcmp(a, "--ipc-off"))
			ipc_off = parse_long(v, a);
		else if (!strcmp(a, "--ipc-len"))
			ipc_len = parse_long(v, a);
		else
			usage();
	}
	if (sock < 3)
		usage();
	if (restore ? (nspid < 1 || !restorer || time_fd < 3 || time_fd >= sock || mono || boot) : (!job_argv || !job_argv[0] || time_fd >= 0))
		usage();
	if (ipc_fd >= 0 && (!restore || ipc_fd < 3 || ipc_fd >= sock || ipc_off < 0 || ipc_len <= 0))
		usage();

	/* Every descriptor but the ones the contract names is closed (the agent's are
	 * close-on-exec already; this also covers whatever its parent leaked). */
	if (!restore && sock > 3)
		syscall(SYS_close_range, 3, sock - 1, 0);
	syscall(SYS_close_range, sock + 1, ~0U, 0);
	fcntl(sock, F_SETFD, FD_CLOEXEC);
	if (time_fd >= 0)
		fcntl((int)time_fd, F_SETFD, FD_CLOEXEC);   /* init's alone: not the restorer's */

	uid_t uid = getuid();
	gid_t gid = getgid();
	/* restore: the time namespace comes later (make_time_ns) */
	if (unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (restore ? 0 : CLONE_NEWTIME)) < 0)
		die(restore ? "unshare(USER|PID|NS|UTS|IPC)" : "unshare(USER|PID|NS|UTS|IPC|TIME)");
	char buf[128];
	if (write_file("/proc/self/setgroups", "deny") < 0)
		die("setgroups deny");
	/* The user keeps his own uid inside (never 0: mpirun refuses to run as root). */
	snprintf(buf, sizeof buf, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (write_file("/proc/self/uid_map", buf) < 0)
		die("uid_map");
	snprintf(buf, sizeof buf, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (write_file("/proc/self/gid_map", buf) < 0)
		die("gid_map");
	if (mono || boot) {
		char m[64], b[64];
		offset_line(m, sizeof m, "monotonic", mono);
		offset_line(b, sizeof b, "boottime", boot);
		snprintf(buf, sizeof buf, "%s%s", m, b);
		if (write_file("/proc/self/timens_offsets", buf) < 0)
			die("timens_offsets");
	}

	/* init learns whether nsinit died before init's PDEATHSIG was armed: the write end
	 * stays open in nsinit only (getppid() is 0 inside the new PID namespace). */
	int alive[2];
	if (pipe2(alive, O_CLOEXEC) < 0)
		die("pipe");
	pid_t init = fork();
	if (init < 0)
		die("fork init");
	if (init > 0) {
		/* nsinit: outside the new PID namespace, waits for init and reports its status. It
		 * keeps nothing of the job's (a pipe end held here would keep a reader from EOF). */
		close(sock);
		close(alive[0]);
		if (restore) {   /* all but alive[1], whose EOF tells init that nsinit is gone */
			if (alive[1] > 3)
				syscall(SYS_close_range, 3, alive[1] - 1, 0);
			syscall(SYS_close_range, alive[1] + 1, ~0U, 0);
		}
		int st;
		for (;;) {
			pid_t r = waitpid(init, &st, 0);
			if (r == init)
				break;
			if (r < 0 && errno != EINTR)
				die("waitpid init");
		}
		return exit_code_of(st);
	}

	/* init: PID 1 of the job's namespaces. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(alive[1]);
	struct pollfd pf = { alive[0], POLLIN, 0 };
	if (poll(&pf, 1, 0) != 0)   /* EOF: nsinit died before the line above */
		_exit(125);
	close(alive[0]);
	prog = "cairn-nsinit (init)";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("mount / rprivate");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("mount /proc");
	if (hostname && sethostname(hostname, strlen(hostname)) < 0)
		die("sethostname");
	if (send_tag(sock, 'I') < 0)
		die("send I");
	/* The job's SysV IPC objects, with their ids, before any of its processes exists (their
	 * shmat mappings refer to them): init has every capability of the new namespaces. */
	if (ipc_fd >= 0) {
		char err[512];
		if (cipc_restore((int)ipc_fd, (uint64_t)ipc_off, (uint64_t)ipc_len, err, sizeof err) < 0) {
			fprintf(stderr, "%s: %s\n", prog, err);
			dprintf(5, "[nsinit] FAIL: %s\n", err);   /* RFD_LOG: the engine reports the log's last line */
			_exit(125);
		}
		close((int)ipc_fd);
	}

	pid_t child;
	if (restore) {
		pid_t tids[1] = { (pid_t)nspid };
		struct clone_args_v2 ca;
		memset(&ca, 0, sizeof ca);
		ca.exit_signal = SIGCHLD;
		ca.set_tid = (uint64_t)(uintptr_t)tids;
		ca.set_tid_size = 1;
		child = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
		if (child < 0) {
			snprintf(buf, sizeof buf, "clone3(set_tid=%ld)", nspid);
			die(buf);
		}
	} else {
		child = fork();
		if (child < 0)
			die("fork job");
	}
	if (child == 0) {
		prog = "cairn-nsinit (job)";
		if (send_tag(sock, 'C') < 0)
			die("send C");
		if (wait_go(sock) < 0)
			_exit(125);   /* the agent gave up: nothing to report to */
		close(sock);
		/* Give the job a clean signal state: dispositions the agent ignored (node ignores
		 * SIGPIPE) survive execve and would otherwise leak into the job. */
		for (int sig = 1; sig < 65; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (restore) {
			if (keep_ambient_restorer_caps() < 0)
				die("raise ambient CAP_CHECKPOINT_RESTORE and CAP_SYS_ADMIN");
			char *rargv[] = { (char *)"cairn-restorer", NULL };
			execv(restorer, rargv);
			fprintf(stderr, "cairn: cannot run %s: %s\n", restorer, strerror(errno));
			_exit(127);
		}
		if (drop_all_caps() < 0)
			die("drop capabilities");
		execvp(job_argv[0], job_argv);
		fprintf(stderr, "cairn: cannot run %s: %s\n", job_argv[0], strerror(errno));
		_exit(127);
	}
	close(sock);
	/* Whatever the restorers were handed (pipe ends, shared files) is theirs alone: an end
	 * kept open here would keep a reader from ever seeing EOF. */
	if (restore) {
		syscall(SYS_close_range, 3, (unsigned)time_fd - 1, 0);
		syscall(SYS_close_range, (unsigned)time_fd + 1, ~0U, 0);
		make_time_ns((int)time_fd);
	}

	/* PID 1 reaps every orphan of the namespace; the job's main process decides the end. */
	for (;;) {
		int st;
		pid_t r = waitpid(-1, &st, 0);
		if (r == child)
			return exit_code_of(st);
		if (r < 0 && errno == ECHILD)
			return 125;
	}
}
