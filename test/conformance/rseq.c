/* rseq registration: the thread's rseq area is still registered with the kernel (a
 * second registration of the same area is refused with EBUSY) and its cpu_id follows
 * the CPU the thread runs on. */
#include "conformance.h"
#include <sched.h>
#include <sys/rseq.h>

static struct rseq *area(void) { return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset); }

int main(void)
{
	cf_start();
	CHECK(__rseq_size > 0, "glibc did not register rseq (glibc.pthread.rseq=0?)");
	struct rseq *rs = area();
	cf_wait();
	CHECK(area() == rs, "rseq area moved");
	long r = syscall(SYS_rseq, rs, __rseq_size < 32 ? 32 : __rseq_size, 0, RSEQ_SIG);
	CHECK(r == -1 && errno == EBUSY, "registering the same rseq area again gave %ld (%s), expected EBUSY: it is not registered", r, strerror(errno));
	cpu_set_t orig;
	OK(sched_getaffinity(0, sizeof orig, &orig));
	int seen = 0;
	for (int cpu = 0; cpu < CPU_SETSIZE && seen < 2; cpu++) {
		if (!CPU_ISSET(cpu, &orig)) continue;
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		OK(sched_setaffinity(0, sizeof one, &one));
		CHECK(sched_getcpu() == cpu, "sched_getcpu() is %d on CPU %d", sched_getcpu(), cpu);
		int id = (int)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);
		CHECK(id == cpu, "rseq cpu_id is %d while running on CPU %d", id, cpu);
		seen++;
	}
	OK(sched_setaffinity(0, sizeof orig, &orig));
	return cf_pass();
}
