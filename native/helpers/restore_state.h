/* Process-level state the restorer puts back: personality, per-thread comm and timer slack,
 * pending signals (queued again, all signals blocked, so they are still pending when the agent
 * sets the saved masks), POSIX timers with their ids, interval timers, no_new_privs, dumpable.
 * Included by restorer.c after its plan pointers and fail_* helpers. */
#ifndef CAIRN_RESTORE_STATE_H
#define CAIRN_RESTORE_STATE_H

enum {
	RS_NR_setitimer = 38, RS_NR_rt_sigqueueinfo = 129, RS_NR_personality = 135, RS_NR_timer_create = 222,
	RS_NR_timer_settime = 223, RS_NR_timer_delete = 226, RS_NR_rt_tgsigqueueinfo = 297,
};
#define RS_PR_SET_DUMPABLE 4
#define RS_PR_SET_TIMERSLACK 29
#define RS_PR_SET_NO_NEW_PRIVS 38
#define RS_PR_TIMER_CREATE_RESTORE_IDS 77
#define RS_MAX_LINEAR_TIMER_ID 65536 /* without the prctl, ids are made one by one up to the wanted one */

static const struct plan_sig *rs_sigs(void)
{
	return (const struct plan_sig *)(P + H->sig_off);
}
static const struct plan_timer *rs_timers(void)
{
	return (const struct plan_timer *)(P + H->timer_off);
}

static void rs_check_tables(void)
{
	if (H->sig_off % 8 || H->sig_off > H->total_size || H->nsigs > (H->total_size - H->sig_off) / sizeof(struct plan_sig))
		fail_s("plan table out of range:", "signals", (long)H->nsigs);
	if (H->timer_off % 8 || H->timer_off > H->total_size ||
	    H->ntimers > (H->total_size - H->timer_off) / sizeof(struct plan_timer))
		fail_s("plan table out of range:", "timers", (long)H->ntimers);
}

/* After the memory is back: READ_IMPLIES_EXEC set earlier would add PROT_EXEC to every
 * mapping made since. */
static void rs_personality(void)
{
	long r = sc1(RS_NR_personality, H->personality);
	if (r < 0)
		fail_x("personality", H->personality, r);
}

/* Each thread: its name, its timer slack (only a thread itself may set it without
 * CAP_SYS_NICE), then its own pending signals (a thread may forge any si_code only for
 * itself). */
static void rs_thread_state(int i)
{
	const struct plan_thread *t = &T[i];
	if (t->comm[0]) {
		char comm[16];
		memcpy(comm, t->comm, 16);
		comm[15] = 0;
		sys_prctl(PR_SET_NAME, (ul)comm, 0, 0, 0);
	}
	if (t->timerslack_ns) {
		long r = sys_prctl(RS_PR_SET_TIMERSLACK, t->timerslack_ns, 0, 0, 0);
		if (r < 0)
			fail_x("PR_SET_TIMERSLACK", t->timerslack_ns, r);
	}
	const struct plan_sig *s = rs_sigs();
	for (u32 k = 0; k < H->nsigs; k++) {
		if (s[k].tid != t->tid)
			continue;
		long r = sc4(RS_NR_rt_tgsigqueueinfo, H->pid, t->tid, s[k].sig, s[k].info);
		if (r < 0)
			fail_x("queue pending signal to its thread, signal", (u64)s[k].sig, r);
	}
}

static long rs_timer_create(const struct plan_timer *t, int *id)
{
	struct {
		u64 value;
		int signo, notify, tid;
		int pad[11];
	} sev;
	memset(&sev, 0, sizeof sev);
	sev.value = t->sigval;
	sev.signo = t->signo;
	sev.notify = t->notify;
	sev.tid = t->notify_tid;
	return sc3(RS_NR_timer_create, t->clock, &sev, id);
}

/* POSIX timers with their saved ids (the program holds them as timer_t). With
 * PR_TIMER_CREATE_RESTORE_IDS (6.15+) the kernel takes the id from us; without it, ids come
 * from a counter: create and delete until the counter reaches the wanted id (the plan lists
 * timers by id). */
static void rs_posix_timers(void)
{
	const struct plan_timer *tm = rs_timers();
	if (!H->ntimers)
		return;
	int exact = sys_prctl(RS_PR_TIMER_CREATE_RESTORE_IDS, 1, 0, 0, 0) == 0;
	for (u32 k = 0; k < H->ntimers; k++) {
		const struct plan_timer *t = &tm[k];
		int id = t->id;
		long r;
		if (exact) {
			r = rs_timer_create(t, &id);
		} else {
			for (;;) {
				r = rs_timer_create(t, &id);
				if (r < 0 || id >= t->id)
					break;
				sc1(RS_NR_timer_delete, id);
				if (id > RS_MAX_LINEAR_TIMER_ID)
					break;
			}
		}
		if (r < 0)
			fail_x("timer_create for POSIX timer", (u64)t->id, r);
		if (id != t->id)
			fail_x("timer_create gave another id than", (u64)t->id, id);
	}
	if (exact)
		sys_prctl(RS_PR_TIMER_CREATE_RESTORE_IDS, 0, 0, 0, 0);
	for (u32 k = 0; k < H->ntimers; k++) {
		const struct plan_timer *t = &tm[k];
		if (!t->its[2] && !t->its[3])
			continue; /* disarmed */
		long r = sc4(RS_NR_timer_settime, t->id, 0, t->its, 0);
		if (r < 0)
			fail_x("timer_settime for POSIX timer", (u64)t->id, r);
	}
}

/* The leader, once every thread exists: timers (a SIGEV_THREAD_ID target must exist), then
 * the process-wide pending signals. Signals they raise stay pending: all are blocked here. */
static void rs_process_state(void)
{
	rs_posix_timers();
	for (int w = 0; w < 3; w++) {
		if (!H->itimer[w][2] && !H->itimer[w][3])
			continue;
		long r = sc3(RS_NR_setitimer, w, H->itimer[w], 0);
		if (r < 0)
			fail_x("setitimer", (u64)w, r);
	}
	const struct plan_sig *s = rs_sigs();
	for (u32 k = 0; k < H->nsigs; k++) {
		if (s[k].tid != 0)
			continue;
		long r = sc3(RS_NR_rt_sigqueueinfo, H->pid, s[k].sig, s[k].info);
		if (r < 0)
			fail_x("queue process-wide pending signal", (u64)s[k].sig, r);
	}
}

/* Last in each thread: it cannot be undone. */
static void rs_no_new_privs(int i)
{
	if (!T[i].no_new_privs)
		return;
	long r = sys_prctl(RS_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (r < 0)
		fail_x("PR_SET_NO_NEW_PRIVS in thread", (u64)T[i].tid, r);
}

/* The leader's very last step. The agent is attached already and keeps working on a
 * non-dumpable process: it holds every capability of the job's user namespace. */
static void rs_dumpable(void)
{
	long r = sys_prctl(RS_PR_SET_DUMPABLE, H->dumpable, 0, 0, 0);
	if (r < 0)
		fail_x("PR_SET_DUMPABLE", H->dumpable, r);
}

#endif
