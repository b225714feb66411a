/* umask: the mask set before the checkpoint still applies to new files. */
#include "conformance.h"

int main(void)
{
	cf_start();
	umask(027);
	cf_wait();
	mode_t m = umask(027);
	CHECK(m == 027, "umask is %03o, expected 027", (unsigned)m);
	char p[PATH_MAX + 16];
	snprintf(p, sizeof p, "%s/umask-probe", cf_dir);
	int fd = OK(open(p, O_CREAT | O_WRONLY | O_EXCL, 0777));
	struct stat st;
	OK(fstat(fd, &st));
	close(fd);
	CHECK((st.st_mode & 0777) == 0750, "new file has mode %03o, expected 750", (unsigned)(st.st_mode & 0777));
	return cf_pass();
}
