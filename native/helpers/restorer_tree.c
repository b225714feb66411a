/* Part of cairn-restorer (included by restorer.c): the job's process tree. Every restorer
 * reads the job table (plan.h: plan_job, plan_proc), finds itself by getpid(), and creates
 * its own children before it rebuilds itself:
 *   - a live child: clone3(set_tid, CLONE_VFORK) — the parent waits until the child has
 *     joined its session/process group and exec'd the restorer again, so a sibling that
 *     joins an earlier sibling's group finds it there;
 *   - a zombie: clone3(set_tid, CLONE_UNTRACED) that exits at once with its saved status;
 *     the parent waits for that exit without reaping it (WNOWAIT) and drops the SIGCHLD;
 *   - the main process also creates init's other children (orphans) with CLONE_PARENT.
 * Children inherit the passed descriptors at pass_floor + k and get the plan and log at
 * RFD_PLAN / RFD_LOG again. */

#define JOB_AREA (RESTORER_BASE + 0x20000000ULL)
#define JOB_AREA_MAX 0x10000000ULL
#define CLONE_VFORK 0x4000ULL
#define CLONE_PARENT 0x8000ULL
#define CLONE_UNTRACED 0x800000ULL
#define SIGCHLD 17
#define P_PID 1
#define WEXITED 4
#define WNOWAIT 0x01000000
#define RLIMIT_CORE 4

static struct plan_job J;
static const struct plan_proc *PR;   /* J.nprocs entries, in JOB_AREA */
static const struct plan_proc *ME;

static const char *job_str(u32 off)
{
	if (!off || (u64)off >= J.total_size - J.str_off)
		fail_x("job string offset out of range", off, 0);
	return (const char *)(JOB_AREA + J.str_off + off);
}

/* Reads the job table (from RFD_PLAN) and finds this process in it. */
static void read_job(long me)
{
	pread_full(RFD_PLAN, &J, sizeof J, 0, "read job plan header");
	if (J.magic != PLAN_JOB_MAGIC || J.version != PLAN_VERSION)
		fail_x("not a cairn job plan of this version:", J.magic, J.version);
	if (J.total_size < sizeof J || J.total_size > JOB_AREA_MAX || J.nprocs < 1 || J.nprocs > PLAN_MAX_PROCS ||
	    J.procs_off % 8 || J.procs_off > J.total_size ||
	    J.nprocs > (J.total_size - J.procs_off) / sizeof(struct plan_proc) || J.str_off >= J.total_size)
		fail_x("bad job plan layout", J.total_size, J.nprocs);
	ul size = (J.total_size + PAGE - 1) & ~(PAGE - 1);
	long r = sys_mmap(JOB_AREA, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (r != (long)JOB_AREA)
		fail_x("mmap job plan copy", JOB_AREA, r);
	pread_full(RFD_PLAN, (void *)JOB_AREA, J.total_size, 0, "read job plan into");
	if (((const u8 *)JOB_AREA)[J.total_size - 1] != 0)
		fail_s("job string table not terminated", NULL, 0);
	PR = (const struct plan_proc *)(JOB_AREA + J.procs_off);
	for (u32 i = 0; i < J.nprocs; i++)
		if (PR[i].pid == me && !PR[i].zombie)
			ME = &PR[i];
	if (!ME)
		fail_x("this pid is not in the job plan:", (u64)me, 0);
}

/* In a new child, before it execs or exits: its session, then its process group. A session
 * it did not lead was inherited from its parent; a group is its own, its parent's, or an
 * earlier sibling's. */
static void join_session_and_group(const struct plan_proc *c)
{
	long r;
	if (c->sid == c->pid) {
		if ((r = sc0(SYS_setsid)) < 0)
			fail_x("setsid for pid", (u64)c->pid, r);
	} else if ((r = sc1(SYS_getsid, 0)) != c->sid) {
		fail_x("session cannot be recreated (its leader is gone), pid", (u64)c->pid, c->sid);
	}
	if (c->pgid != sc1(SYS_getpgid, 0) && (r = sc2(SYS_setpgid, 0, c->pgid)) < 0)
		fail_x("process group cannot be recreated (its leader is gone), pid", (u64)c->pid, r);
}

static void __attribute__((noreturn)) zombie_exit(const struct plan_proc *c)
{
	char comm[16];
	memcpy(comm, c->comm, sizeof comm);
	comm[15] = 0;
	sys_prctl(PR_SET_NAME, (ul)comm, 0, 0, 0);
	int sig = c->status & 0x7f;
	if (sig && sig != 0x7f) {
		u64 nocore[2] = { 0, 0 };
		sc4(SYS_prlimit64, 0, RLIMIT_CORE, nocore, 0);   /* a core file would be a trace */
		struct {
			u64 handler, flags, restorer, mask;
		} dfl = { 0, 0, 0, 0 };
		sc4(SYS_rt_sigaction, sig, &dfl, 0, 8);
		u64 only = ~(1ULL << (sig - 1));
		sc4(SYS_rt_sigprocmask, SIG_SETMASK, &only, 0, 8);
		sc2(SYS_kill, sys_getpid(), sig);
	}
	sys_exit_group((c->status >> 8) & 0xff);
}

static void __attribute__((noreturn)) child_start(const struct plan_proc *c)
{
	join_session_and_group(c);
	if (c->zombie)
		zombie_exit(c);
	long r;
	if ((r = sys_dup3(plan_fd, RFD_PLAN, 0)) < 0 || (r = sys_dup3(log_fd, RFD_LOG, 0)) < 0)
		fail_x("descriptors for the restorer of pid", (u64)c->pid, r);
	static char *const argv[] = { (char *)"cairn-restorer", NULL };
	static char *const envp[] = { NULL };
	r = sc3(SYS_execve, "/proc/self/exe", argv, envp);
	fail_x("execve the restorer for pid", (u64)c->pid, r);
}

static void create_children(void)
{
	const int main_proc = ME->pid == J.main_pid;
	int zombies = 0;
	for (u32 i = 0; i < J.nprocs; i++) {
		const struct plan_proc *c = &PR[i];
		const int orphan = main_proc && c->ppid == 1 && c->pid != J.main_pid && !c->zombie;
		if (c->ppid != ME->pid && !orphan)
			continue;
		pid_t tid = c->pid;
		struct {
			u64 flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
				cgroup;
		} ca;
		memset(&ca, 0, sizeof ca);
		ca.flags = c->zombie ? CLONE_UNTRACED : CLONE_VFORK;
		if (orphan)
			ca.flags |= CLONE_PARENT;   /* init's child; its exit signal is init's business */
		else
			ca.exit_signal = SIGCHLD;
		ca.set_tid = (u64)(ul)&tid;
		ca.set_tid_size = 1;
		long r = sc2(SYS_clone3, &ca, sizeof ca);
		if (r == 0)
			child_start(c);
		if (r != tid)
			fail_x("clone3 child process with set_tid", (u64)tid, r);
		if (c->zombie) {
			zombies = 1;
			r = sc5(SYS_waitid, P_PID, tid, 0, WEXITED | WNOWAIT, 0);
			if (r < 0)
				fail_x("wait for zombie child", (u64)tid, r);
		}
	}
	if (zombies) {
		/* their SIGCHLD was not the process's: its own pending signals are queued later */
		u64 chld = 1ULL << (SIGCHLD - 1);
		long zero[2] = { 0, 0 };
		while (sc4(SYS_rt_sigtimedwait, &chld, 0, zero, 8) == SIGCHLD)
			;
	}
}
