/* An inotify watch on a directory (IN_CREATE) still reports a file created after
 * restore, with its watch descriptor. */
#include "conformance.h"
#include <sys/inotify.h>

int main(void)
{
	cf_start();
	OK(mkdir("watched", 0755));
	int fd = OK(inotify_init1(IN_NONBLOCK));
	int wd = OK(inotify_add_watch(fd, "watched", IN_CREATE));
	cf_wait();
	cf_touch("watched/new-file");
	char buf[4096] __attribute__((aligned(8)));
	ssize_t n = -1;
	for (int i = 0; i < 50 && n < 0; i++) {
		n = read(fd, buf, sizeof buf);
		if (n < 0) cf_sleep_ms(20);
	}
	CHECK(n > 0, "no inotify event for a file created in the watched directory (%s)", strerror(errno));
	struct inotify_event *e = (struct inotify_event *)buf;
	CHECK(e->wd == wd && (e->mask & IN_CREATE) && !strcmp(e->name, "new-file"), "inotify event wd %d mask %#x name '%s', expected wd %d IN_CREATE new-file", e->wd, e->mask,
	      e->len ? e->name : "", wd);
	return cf_pass();
}
