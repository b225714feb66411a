/* Children made every way: posix_spawn (clone with CLONE_VM|CLONE_VFORK inside glibc),
 * vfork+exec and fork; and an orphan in a session of its own (its parent exited, so init
 * adopted it). After restart: each child is still this process's child with its pid, the
 * exec'd ones finish and are reaped with their status, and the orphan keeps its parent
 * (init), its session and its group and answers through a pipe. */
#include "conformance.h"
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

int main(void)
{
	cf_start();
	char *sh_argv[] = { "sh", "-c", "sleep 1; exit 5", NULL };
	pid_t spawned;
	CHECK(posix_spawn(&spawned, "/bin/sh", NULL, NULL, sh_argv, environ) == 0, "posix_spawn failed");
	pid_t vforked = vfork();
	if (vforked == 0) {
		execl("/bin/sh", "sh", "-c", "sleep 1; exit 6", (char *)NULL);
		_exit(127);
	}
	CHECK(vforked > 0, "vfork: %s", strerror(errno));
	int p[2], q[2];
	OK(pipe(p));
	OK(pipe(q));
	pid_t middle = OK(fork());
	if (middle == 0) {
		pid_t orphan = fork();
		if (orphan == 0) {
			setsid();
			close(p[1]);
			close(q[0]);
			char c;
			if (read(p[0], &c, 1) != 1)
				_exit(1);
			/* answers with its parent, session and group as it sees them now */
			char msg[64];
			int n = snprintf(msg, sizeof msg, "%d %d %d %d", (int)getpid(), (int)getppid(), (int)getsid(0),
					 (int)getpgid(0));
			if (write(q[1], msg, (size_t)n) != n)
				_exit(2);
			_exit(0);
		}
		if (write(q[1], &orphan, sizeof orphan) != sizeof orphan)
			_exit(3);
		_exit(0);
	}
	close(p[0]);
	close(q[1]);
	int st = 0;
	OK(waitpid(middle, &st, 0));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the middle process failed: %#x", st);
	pid_t orphan = 0;
	CHECK(read(q[0], &orphan, sizeof orphan) == sizeof orphan, "no orphan pid");
	cf_wait();

	CHECK(waitpid(spawned, &st, 0) == spawned && WIFEXITED(st) && WEXITSTATUS(st) == 5,
	      "the posix_spawn child %d: status %#x", (int)spawned, st);
	CHECK(waitpid(vforked, &st, 0) == vforked && WIFEXITED(st) && WEXITSTATUS(st) == 6,
	      "the vfork child %d: status %#x", (int)vforked, st);
	CHECK(write(p[1], "x", 1) == 1, "write to the orphan: %s", strerror(errno));
	char msg[64] = { 0 };
	ssize_t n = read(q[0], msg, sizeof msg - 1);
	CHECK(n > 0, "no answer from the orphan");
	int pid = 0, ppid = 0, sid = 0, pgid = 0;
	CHECK(sscanf(msg, "%d %d %d %d", &pid, &ppid, &sid, &pgid) == 4, "orphan said '%s'", msg);
	CHECK(pid == orphan && ppid == 1 && sid == orphan && pgid == orphan,
	      "orphan %d: pid %d, parent %d, session %d, group %d (expected parent 1, its own session and group)",
	      (int)orphan, pid, ppid, sid, pgid);
	return cf_pass();
}
