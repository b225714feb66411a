/* Part of cairn-restorer (included by restorer.c): descriptor kinds that are kernel objects
 * (eventfd, timerfd, signalfd, epoll, inotify), shared files (memfds, deleted files, shared
 * anonymous memory) and file locks. Order, from stage2:
 *   create_shms        before the memory: MAP_SHARED mappings of them need the files
 *   create_pipes       before the descriptors: every pipe, refilled with its bytes in flight
 *   open_fd_kind       from restore_fds, one descriptor at a time
 *   finish_fd_kinds    once every descriptor exists: epoll targets, seals, locks */

static void check_table(u64 off, u64 n, u64 size, const char *what);

#define MAX_SHM 4096
static int shm_fds[MAX_SHM];
static const struct plan_shm *S;

static int shm_fd_of(u32 idx1)
{
	if (idx1 < 1 || idx1 > H->nshm)
		fail_x("shared file index out of range:", idx1, 0);
	return shm_fds[idx1 - 1];
}

/* The file's contents: each run is pread straight into a shared mapping of the file. */
static void fill_shm(int fd, const struct plan_shm *s, const char *what)
{
	const ul window = 0x10000000UL; /* 256 MiB at a time in COPY_AREA (the span has 512) */
	if ((u64)s->first_run + s->nruns > H->nruns)
		fail_s("shared file runs out of range:", what, 0);
	for (u32 i = 0; i < s->nruns; i++) {
		const struct plan_run *r = &R[s->first_run + i];
		for (u64 done = 0; done < r->len;) {
			ul n = r->len - done < window ? (ul)(r->len - done) : window;
			long m = sys_mmap(COPY_AREA, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, r->addr + done);
			if (m != (long)COPY_AREA)
				fail_s("mmap shared file to fill it:", what, m);
			pread_full(image_fd, (void *)COPY_AREA, n, r->offset + done, "read shared file contents into");
			sys_munmap(COPY_AREA, n);
			done += n;
		}
	}
}

static void create_shms(void)
{
	static char buf[4096];
	if (H->nshm > MAX_SHM)
		fail_x("too many shared files:", H->nshm, 0);
	if (H->nshm && (H->shm_off % 8 || H->shm_off > H->total_size ||
			H->nshm > (H->total_size - H->shm_off) / sizeof *S))
		fail_s("plan table out of range:", "shared files", 0);
	S = (const struct plan_shm *)(P + H->shm_off);
	for (u32 i = 0; i < H->nshm; i++) {
		const struct plan_shm *s = &S[i];
		const char *name = str(s->name);
		long fd = -1;
		if (s->passed) {
			/* shared with other processes of the job: the agent made and filled it */
			if (s->passed > H->npassed)
				fail_x("passed shared file out of range:", s->passed, 0);
			long hi = sys_fcntl((int)H->pass_floor + (int)s->passed - 1, F_DUPFD_CLOEXEC, (long)H->fd_floor);
			if (hi < 0)
				fail_s("cannot take the passed shared file", name, hi);
			shm_fds[i] = (int)hi;
			continue;
		}
		if (s->kind == PSHM_DELETED) {
			/* an unlinked file in the same directory (same filesystem, same space), else a memfd */
			u32 n = name ? (u32)strlen(name) : 0, slash = 0;
			if (n >= sizeof buf)
				fail_s("path too long:", name, 0);
			for (u32 k = 0; k < n; k++)
				if (name[k] == '/')
					slash = k;
			memcpy(buf, name ? name : "", n + 1);
			buf[slash ? slash : 1] = 0;
			fd = sys_open(buf, O_TMPFILE | O_RDWR | O_CLOEXEC, (int)(s->mode ? s->mode : 0600));
			if (fd >= 0 && s->mode)
				sc2(SYS_fchmod, fd, s->mode);
			if (fd < 0)
				fd = sc2(SYS_memfd_create, name ? name + slash + 1 : "deleted", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		} else {
			fd = sc2(SYS_memfd_create, s->kind == PSHM_MEMFD ? (name ? name : "") : "cairn-shared-anon",
				 MFD_CLOEXEC | MFD_ALLOW_SEALING);
		}
		if (fd < 0)
			fail_s("cannot create shared file", name ? name : "(anonymous)", fd);
		/* above every descriptor of the process: restore_fds closes everything below fd_floor */
		long hi = sys_fcntl((int)fd, F_DUPFD_CLOEXEC, (long)H->fd_floor);
		sys_close((int)fd);
		if (hi < 0)
			fail_s("cannot move shared file above fd_floor:", name, hi);
		shm_fds[i] = (int)hi;
		long r = sc2(SYS_ftruncate, hi, s->size);
		if (r < 0)
			fail_s("ftruncate shared file", name, r);
		fill_shm((int)hi, s, name ? name : "(anonymous)");
	}
}

#define MAX_PIPES 4096
static int pipe_fds[MAX_PIPES][2];
static const struct plan_pipe *PP;

/* Each pipe as it was: same capacity, same packet mode, its bytes in flight spliced from the
 * image into it (they fit: they were in a pipe of this capacity). Both ends live above
 * fd_floor until restore_fds dup's the ones the process holds; finish_fd_kinds closes them. */
static void create_pipes(void)
{
	check_table(H->pipe_off, H->npipes, sizeof *PP, "pipes");
	if (H->npipes > MAX_PIPES)
		fail_x("too many pipes:", H->npipes, 0);
	PP = (const struct plan_pipe *)(P + H->pipe_off);
	for (u32 i = 0; i < H->npipes; i++) {
		const struct plan_pipe *p = &PP[i];
		int tmp[2];
		long r;
		if (p->path) {
			/* a FIFO: one read-write open holds it (opening either end alone would block
			 * or fail without the other), both "ends" are that open */
			r = sys_open(str(p->path), O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
			if (r < 0)
				fail_s("cannot open FIFO", str(p->path), r);
			tmp[0] = (int)r;
			tmp[1] = (int)sys_fcntl(tmp[0], F_DUPFD_CLOEXEC, 0);
			sys_fcntl(tmp[0], F_SETFL, 0);
		} else if ((r = sc2(SYS_pipe2, tmp, O_CLOEXEC | (p->packet ? O_DIRECT : 0))) < 0) {
			fail_x("pipe2 for pipe", i, r);
		}
		for (int e = 0; e < 2; e++) {
			long hi = sys_fcntl(tmp[e], F_DUPFD_CLOEXEC, (long)H->fd_floor);
			sys_close(tmp[e]);
			if (hi < 0)
				fail_x("cannot move a pipe end above fd_floor, pipe", i, hi);
			pipe_fds[i][e] = (int)hi;
		}
		u64 total = 0;
		if ((u64)p->first_run + p->nruns > H->nruns)
			fail_x("pipe runs out of range, pipe", i, 0);
		for (u32 k = 0; k < p->nruns; k++)
			total += R[p->first_run + k].len;
		/* a smaller capacity than saved is tolerated as long as the bytes fit (the user's pipe
		 * quota may be exhausted); the kernel rounds capacities up, never down */
		if (p->capacity && (r = sys_fcntl(pipe_fds[i][1], F_SETPIPE_SZ, p->capacity)) < 0 && total > 4096)
			fail_x("F_SETPIPE_SZ for pipe", i, r);
		for (u32 k = 0; k < p->nruns; k++) {
			const struct plan_run *run = &R[p->first_run + k];
			u64 off = run->offset;
			for (u64 done = 0; done < run->len;) {
				r = sc6(SYS_splice, image_fd, (long)&off, pipe_fds[i][1], 0, (long)(run->len - done), 0);
				if (r <= 0)
					fail_x("splice bytes in flight from the image into pipe", i, r ? r : -5 /* EIO */);
				done += (u64)r;
			}
		}
	}
}

static void ln_num_path(char *out, const char *prefix, long v)
{
	struct line l = { .n = 0 };
	ln_s(&l, prefix);
	ln_d(&l, v);
	memcpy(out, l.b, l.n);
	out[l.n] = 0;
}

/* Inotify: watch descriptors come from a cyclic allocator starting at 1, so a watch that gets
 * a lower wd than saved is removed and added again until the numbers meet. The IN_IGNORED
 * events this leaves in the queue are read away afterwards. */
static void add_watches(int fd, const struct plan_fd *f)
{
	static u8 drain[4096];
	const struct plan_watch *W = (const struct plan_watch *)(P + H->watch_off);
	int dummies = 0;
	check_table(H->watch_off, H->nwatch, sizeof *W, "inotify watches");
	if ((u64)f->first_sub + f->nsub > H->nwatch)
		fail_x("inotify watches out of range for fd", (u64)f->fd, 0);
	for (u32 i = 0; i < f->nsub; i++) {
		const struct plan_watch *w = &W[f->first_sub + i];
		const char *path = str(w->path);
		for (;;) {
			long r = sc3(SYS_inotify_add_watch, fd, path, w->mask);
			if (r < 0)
				fail_s("inotify_add_watch", path, r);
			if (r == w->wd)
				break;
			if (r > w->wd)
				fail_s("inotify watch descriptor cannot be reproduced for", path, r);
			sc2(SYS_inotify_rm_watch, fd, r);
			dummies = 1;
		}
	}
	if (dummies) {
		long fl = sys_fcntl(fd, F_GETFL, 0);
		sys_fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		while (sys_read(fd, drain, sizeof drain) > 0)
			;
		sys_fcntl(fd, F_SETFL, fl);
	}
}

/* A new descriptor (any number) for a plan fd of a kernel-object kind; restore_fds moves it. */
static long open_fd_kind(const struct plan_fd *f)
{
	int nb = (int)(f->flags & O_NONBLOCK);
	long fd, r;
	switch (f->kind) {
	case PFD_EVENTFD:
		fd = sc2(SYS_eventfd2, 0, nb | (int)(f->tflags & 1 /* EFD_SEMAPHORE */));
		if (fd < 0)
			fail_x("eventfd2 for fd", (u64)f->fd, fd);
		if (f->count && (r = sys_write((int)fd, &f->count, 8)) != 8)
			fail_x("eventfd counter for fd", (u64)f->fd, r);
		return fd;
	case PFD_TIMERFD: {
		fd = sc2(SYS_timerfd_create, f->clockid, nb);
		if (fd < 0)
			fail_x("timerfd_create for fd", (u64)f->fd, fd);
		if (f->value_ns) {
			u64 its[4] = { f->interval_ns / 1000000000ULL, f->interval_ns % 1000000000ULL,
				       f->value_ns / 1000000000ULL, f->value_ns % 1000000000ULL };
			r = sc4(SYS_timerfd_settime, fd, f->tflags, its, 0);
			if (r < 0)
				fail_x("timerfd_settime for fd", (u64)f->fd, r);
		}
		/* after settime, which clears them */
		if (f->count && (r = sc3(SYS_ioctl, fd, TFD_IOC_SET_TICKS, &f->count)) < 0)
			fail_x("timerfd expirations (TFD_IOC_SET_TICKS) for fd", (u64)f->fd, r);
		return fd;
	}
	case PFD_SIGNALFD:
		fd = sc4(SYS_signalfd4, -1, &f->sigmask, 8, nb);
		if (fd < 0)
			fail_x("signalfd4 for fd", (u64)f->fd, fd);
		return fd;
	case PFD_EPOLL:
		fd = sc1(SYS_epoll_create1, 0);
		if (fd < 0)
			fail_x("epoll_create1 for fd", (u64)f->fd, fd);
		if (nb)
			sys_fcntl((int)fd, F_SETFL, O_NONBLOCK);
		return fd;
	case PFD_INOTIFY:
		fd = sc1(SYS_inotify_init1, nb);
		if (fd < 0)
			fail_x("inotify_init1 for fd", (u64)f->fd, fd);
		add_watches((int)fd, f);
		return fd;
	case PFD_SHARED_FILE: {
		/* its own open file description, with the saved flags and offset */
		char p[48];
		ln_num_path(p, "/proc/self/fd/", shm_fd_of(f->shm));
		fd = sys_open(p, (int)f->flags & ~O_CLOEXEC, 0);
		if (fd < 0)
			fail_x("reopen shared file for fd", (u64)f->fd, fd);
		if (f->pos && (r = sys_lseek((int)fd, (long)f->pos, SEEK_SET)) < 0)
			fail_x("lseek shared file for fd", (u64)f->fd, r);
		return fd;
	}
	case PFD_PIPE: {
		if (f->pipe < 1 || f->pipe > H->npipes)
			fail_x("pipe index out of range for fd", (u64)f->fd, f->pipe);
		const int *ends = pipe_fds[f->pipe - 1];
		u32 acc = f->flags & O_ACCMODE;
		const char *fifo = str(PP[f->pipe - 1].path);
		if (fifo) {
			/* its own open of the FIFO (the holder keeps it from blocking) */
			fd = sys_open(fifo, (int)acc | O_NONBLOCK, 0);
		} else if (acc == O_RDWR) {
			/* opened read-write through /proc: a new open file description of the pipe */
			char p[48];
			ln_num_path(p, "/proc/self/fd/", ends[0]);
			fd = sys_open(p, O_RDWR, 0);
		} else {
			fd = sys_fcntl(ends[acc == O_WRONLY ? 1 : 0], F_DUPFD_CLOEXEC, 0);
		}
		if (fd < 0)
			fail_x("pipe end for fd", (u64)f->fd, fd);
		/* O_NONBLOCK belongs to the open file description: the last fd of an end sets it */
		if ((r = sys_fcntl((int)fd, F_SETFL, (long)(f->flags & O_NONBLOCK))) < 0)
			fail_x("F_SETFL on pipe end for fd", (u64)f->fd, r);
		return fd;
	}
	case PFD_SOCKET: {
		if (f->sock < 1 || f->sock > H->nsock || sock_fds[f->sock - 1] < 0)
			fail_x("socket index out of range for fd", (u64)f->fd, f->sock);
		fd = sys_fcntl(sock_fds[f->sock - 1], F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			fail_x("dup of socket for fd", (u64)f->fd, fd);
		if ((r = sys_fcntl((int)fd, F_SETFL, (long)(f->flags & O_NONBLOCK))) < 0)
			fail_x("F_SETFL on socket for fd", (u64)f->fd, r);
		return fd;
	}
	}
	fail_x("unknown fd kind for fd", (u64)f->fd, f->kind);
}

static void take_locks(const struct plan_fd *f)
{
	const struct plan_lock *L = (const struct plan_lock *)(P + H->lock_off);
	if ((u64)f->first_lock + f->nlocks > H->nlocks)
		fail_x("locks out of range for fd", (u64)f->fd, 0);
	for (u32 i = 0; i < f->nlocks; i++) {
		const struct plan_lock *l = &L[f->first_lock + i];
		long r;
		if (l->kind == PLOCK_FLOCK) {
			r = sc2(SYS_flock, f->fd, (l->write ? LOCK_EX : LOCK_SH) | LOCK_NB);
		} else {
			struct {
				short type, whence;
				long start, len;
				int pid, pad;
			} fl = { (short)(l->write ? F_WRLCK : F_RDLCK), SEEK_SET, (long)l->start, (long)l->len, 0, 0 };
			r = sys_fcntl(f->fd, l->kind == PLOCK_OFD ? F_OFD_SETLK : F_SETLK, (long)&fl);
		}
		if (r < 0)
			fail_x(r == -EAGAIN ? "file lock is held by another process now: fd" : "cannot take file lock on fd",
			       (u64)f->fd, r);
	}
}

static void finish_fd_kinds(void)
{
	const struct plan_epoll *E = (const struct plan_epoll *)(P + H->ep_off);
	check_table(H->ep_off, H->nep, sizeof *E, "epoll targets");
	check_table(H->lock_off, H->nlocks, sizeof(struct plan_lock), "locks");
	for (u32 i = 0; i < H->nfds; i++) {
		const struct plan_fd *f = &F[i];
		if (f->kind != PFD_EPOLL)
			continue;
		if ((u64)f->first_sub + f->nsub > H->nep)
			fail_x("epoll targets out of range for fd", (u64)f->fd, 0);
		for (u32 k = 0; k < f->nsub; k++) {
			const struct plan_epoll *e = &E[f->first_sub + k];
			struct __attribute__((packed)) {
				u32 events;
				u64 data;
			} ev = { e->events, e->data };
			long r = sc4(SYS_epoll_ctl, f->fd, EPOLL_CTL_ADD, e->tfd, &ev);
			if (r < 0)
				fail_x("epoll_ctl ADD of its target to epoll fd", (u64)f->fd, r);
		}
	}
	for (u32 i = 0; i < H->nshm; i++) {
		if (S[i].seals) {
			long r = sys_fcntl(shm_fds[i], F_ADD_SEALS, S[i].seals);
			if (r < 0)
				fail_s("cannot seal shared file", str(S[i].name), r);
		}
	}
	/* closed before any POSIX lock is taken: closing a descriptor of a file drops them; an
	 * end the process had closed is closed again here (the other end then sees EOF/EPIPE) */
	for (u32 i = 0; i < H->nshm; i++)
		sys_close(shm_fds[i]);
	for (u32 i = 0; i < H->npipes; i++) {
		sys_close(pipe_fds[i][0]);
		sys_close(pipe_fds[i][1]);
	}
	for (u32 i = 0; i < H->nsock; i++)
		if (sock_fds[i] >= 0)
			sys_close(sock_fds[i]);
	for (u32 i = 0; i < H->nfds; i++)
		if (F[i].nlocks)
			take_locks(&F[i]);
}
