/* A minimal debugger stand-in: PTRACE_SEIZE a process (which keeps running) and pass
 * every signal on to it until it exits or this tracer is killed (the kernel then detaches).
 *   tracer PID
 * Prints "tracing PID" once attached; exits 1 with a message if it cannot attach. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	if (argc != 2) { fprintf(stderr, "usage: tracer PID\n"); return 2; }
	pid_t pid = (pid_t)atol(argv[1]);
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0) { fprintf(stderr, "tracer: PTRACE_SEIZE %d: %s\n", (int)pid, strerror(errno)); return 1; }
	printf("tracing %d\n", (int)pid);
	fflush(stdout);
	for (;;) {
		int st;
		if (waitpid(pid, &st, __WALL) < 0) {
			if (errno == EINTR) continue;
			return 0;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) return 0;
		if (!WIFSTOPPED(st)) continue;
		if ((st >> 16) == PTRACE_EVENT_STOP) {   /* a group stop stays one; other event stops go on */
			int s = WSTOPSIG(st);
			ptrace(s == SIGSTOP || s == SIGTSTP || s == SIGTTIN || s == SIGTTOU ? PTRACE_LISTEN : PTRACE_CONT, pid, 0, 0);
		} else {
			ptrace(PTRACE_CONT, pid, 0, (st >> 16) ? 0 : WSTOPSIG(st));   /* pass the signal on */
		}
	}
}
