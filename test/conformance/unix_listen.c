/* A thread blocked in accept() on a listening AF_UNIX path socket (relative name, mode 0700):
 * after restart it still waits there, and a connection the main thread makes is accepted,
 * with data both ways. The socket file is the same name with the same mode. */
#include "conformance.h"
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>

static int lfd;
static volatile int accepted = -1;

static void *acceptor(void *arg)
{
	(void)arg;
	accepted = accept(lfd, NULL, NULL);
	return NULL;
}

int main(void)
{
	cf_start();
	lfd = OK(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	strcpy(a.sun_path, "listen.sock");
	mode_t old = umask(077);
	OK(bind(lfd, (struct sockaddr *)&a, sizeof a));
	umask(old);
	OK(listen(lfd, 7));
	pthread_t t;
	CHECK(pthread_create(&t, NULL, acceptor, NULL) == 0, "pthread_create");
	cf_sleep_ms(50);
	cf_wait();
	CHECK(accepted == -1, "accept returned %d before any connection", accepted);
	struct stat st;
	OK(stat("listen.sock", &st));
	CHECK(S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0700, "listen.sock has mode %o", (unsigned)st.st_mode);
	int c = OK(socket(AF_UNIX, SOCK_STREAM, 0));
	OK(connect(c, (struct sockaddr *)&a, sizeof a));
	CHECK(pthread_join(t, NULL) == 0, "pthread_join");
	CHECK(accepted >= 0, "accept failed after restart: %s", strerror(errno));
	CHECK(send(c, "hi", 2, 0) == 2, "send: %s", strerror(errno));
	char buf[4] = { 0 };
	CHECK(recv(accepted, buf, 2, 0) == 2 && !memcmp(buf, "hi", 2), "accepted socket got '%s'", buf);
	CHECK(send(accepted, "yo", 2, 0) == 2 && recv(c, buf, 2, 0) == 2 && !memcmp(buf, "yo", 2), "the answer did not arrive");
	int acc = 0;
	socklen_t l = sizeof acc;
	OK(getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l));
	CHECK(acc == 1, "the socket no longer listens");
	return cf_pass();
}
