/* Threads parked in blocking calls when the checkpoint comes:
 *   - a thread in nanosleep(LONG),
 *   - a thread in read(0) (stdin, a pipe the test writes to after the restart),
 *   - a thread in a futex wait (pthread_cond_wait) that main signals late,
 * and main in nanosleep in between. Each reports to OUTFILE when it returns.
 *   blocked OUTFILE SLEEP_MS */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static FILE *out;
static long sleep_ms;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER, outmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int flag;

static void report(const char *what)
{
	pthread_mutex_lock(&outmu);
	fprintf(out, "%s pid %d\n", what, (int)getpid());
	fflush(out);
	pthread_mutex_unlock(&outmu);
}
static void msleep(long ms)
{
	struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&d, &d) != 0) ;   /* an interrupted sleep continues with what is left */
}
static void *sleeper(void *a) { (void)a; msleep(sleep_ms); report("sleeper woke"); return NULL; }
static void *reader(void *a)
{
	(void)a;
	char buf[64] = { 0 };
	ssize_t n = read(0, buf, sizeof buf - 1);
	if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = 0;
	char line[128];
	snprintf(line, sizeof line, "reader got %zd bytes [%s]", n, n > 0 ? buf : "");
	report(line);
	return NULL;
}
static void *waiter(void *a)
{
	(void)a;
	pthread_mutex_lock(&mu);
	while (!flag) pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	report("waiter signalled");
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) return 2;
	out = fopen(argv[1], "a");
	sleep_ms = atol(argv[2]);
	report("started");
	pthread_t t[3];
	pthread_create(&t[0], NULL, sleeper, NULL);
	pthread_create(&t[1], NULL, reader, NULL);
	pthread_create(&t[2], NULL, waiter, NULL);
	msleep(sleep_ms / 2);
	report("main half-way");
	msleep(sleep_ms);
	pthread_mutex_lock(&mu);
	flag = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
	report("done");
	return 0;
}
