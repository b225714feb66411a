/* A parent and a child, for the tree failure tests (test/e2e/tree-failures.test.ts).
 *   family OUT STEPS STEP_MS CHILD_MIB [eventfd]
 * The child touches CHILD_MIB MiB (so dumping it takes a while) and then sleeps; the parent
 * appends "step N" to OUT every STEP_MS, then "child: <how it ended>" and "done". With
 * "eventfd", both hold one eventfd (a kind cairn cannot share between processes yet). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: family OUT STEPS STEP_MS CHILD_MIB [eventfd]\n");
		return 2;
	}
	int steps = atoi(argv[2]), step_ms = atoi(argv[3]);
	size_t mib = (size_t)atol(argv[4]);
	if (argc > 5 && !strcmp(argv[5], "eventfd") && eventfd(0, 0) < 0)
		return 3;
	pid_t child = fork();
	if (child == 0) {
		unsigned char *p = malloc(mib << 20);
		for (size_t i = 0; p && i < (mib << 20); i += 4096)
			p[i] = (unsigned char)(i >> 12);
		for (;;)
			pause();
	}
	FILE *out = fopen(argv[1], "a");
	if (!out)
		return 4;
	for (int i = 1; i <= steps; i++) {
		fprintf(out, "step %d\n", i);
		fflush(out);
		struct timespec d = { step_ms / 1000, (step_ms % 1000) * 1000000L };
		while (nanosleep(&d, &d) < 0)
			;
	}
	kill(child, SIGTERM);
	int st = 0;
	waitpid(child, &st, 0);
	fprintf(out, "child: %s %d\ndone\n", WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	fclose(out);
	return 0;
}
