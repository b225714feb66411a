// Process-level state across a checkpoint (native/src/procstate.cc): sets up pending signals
// (process-wide and per thread, queued real-time ones with values), interval timers, POSIX
// timers (signal, thread id, none, glibc SIGEV_THREAD, ids with gaps), personality, nice,
// CPU affinity, thread names, no_new_privs and (with "nodump") dumpable = 0; prints "ready",
// waits for one byte on stdin (fed after the restore), then checks every item.
// Exit status = number of failed checks. Build: cc -O2 -pthread -o procstate_target procstate_target.c
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int fails;
#define CHECK(cond, ...)                       \
  do {                                         \
    if (cond) {                                \
      printf("ok   ");                         \
    } else {                                   \
      printf("FAIL ");                         \
      fails++;                                 \
    }                                          \
    printf(__VA_ARGS__);                       \
    printf("\n");                              \
  } while (0)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int phase;   // 1: worker set up; 2: check now; 3: worker checked
static pid_t worker_tid;
static volatile sig_atomic_t fired, thread_fired;
static char timers_before[4096];

static void on_fire(int sig) { (void)sig; fired++; }
static void on_thread_timer(union sigval v) { (void)v; thread_fired++; }

static void wait_phase(int p) {
  pthread_mutex_lock(&mu);
  while (phase < p) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
}
static void set_phase(int p) {
  pthread_mutex_lock(&mu);
  phase = p;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static void *worker(void *arg) {
  (void)arg;
  worker_tid = (pid_t)syscall(SYS_gettid);
  pthread_setname_np(pthread_self(), "pst-worker");
  setpriority(PRIO_PROCESS, (id_t)worker_tid, 7);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGRTMIN + 2);
  sigaddset(&s, SIGRTMIN + 5);
  pthread_sigmask(SIG_BLOCK, &s, NULL);
  set_phase(1);
  wait_phase(2);
  char name[32] = "";
  pthread_getname_np(pthread_self(), name, sizeof name);
  CHECK(!strcmp(name, "pst-worker"), "worker comm %s", name);
  CHECK(getpriority(PRIO_PROCESS, 0) == 7, "worker nice %d", getpriority(PRIO_PROCESS, 0));
  sigset_t p;
  sigpending(&p);
  CHECK(sigismember(&p, SIGRTMIN + 2) && !sigismember(&p, SIGUSR2), "worker pending RT+2 yes, main's SIGUSR2 no");
  siginfo_t si;
  struct timespec z = {0, 0};
  sigset_t w;
  sigemptyset(&w);
  sigaddset(&w, SIGRTMIN + 2);
  int r = sigtimedwait(&w, &si, &z);
  CHECK(r == SIGRTMIN + 2 && si.si_value.sival_int == 33 && si.si_code == SI_QUEUE, "worker RT+2 value %d code %d",
        si.si_value.sival_int, si.si_code);
  // The POSIX timer aimed at this thread (SIGEV_THREAD_ID) fires 300 ms after the restart.
  sigemptyset(&w);
  sigaddset(&w, SIGRTMIN + 5);
  struct timespec t = {5, 0};
  r = sigtimedwait(&w, &si, &t);
  CHECK(r == SIGRTMIN + 5 && si.si_code == SI_TIMER && si.si_value.sival_int == 55,
        "thread-id timer fired at this thread: r=%d value %d", r, si.si_value.sival_int);
  set_phase(3);
  return NULL;
}

static timer_t mk(clockid_t c, int notify, int sig, int val, pid_t tid) {
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = notify;
  ev.sigev_signo = sig;
  ev.sigev_value.sival_int = val;
  if (notify == SIGEV_THREAD_ID) ev._sigev_un._tid = tid;
  if (notify == SIGEV_THREAD) ev.sigev_notify_function = on_thread_timer;
  timer_t t;
  if (timer_create(c, &ev, &t) < 0) {
    perror("timer_create");
    exit(100);
  }
  return t;
}

static void arm(timer_t t, long ms, long ims) {
  struct itimerspec its = {{ims / 1000, (ims % 1000) * 1000000}, {ms / 1000, (ms % 1000) * 1000000}};
  timer_settime(t, 0, &its, NULL);
}

static void read_file(const char *p, char *buf, size_t n) {
  FILE *f = fopen(p, "r");
  size_t k = f ? fread(buf, 1, n - 1, f) : 0;
  buf[k] = 0;
  if (f) fclose(f);
}

// /proc/self/timers without the thread-id of glibc's SIGEV_THREAD helper (it is the same
// thread either way) — the whole text is compared.
int main(int argc, char **argv) {
  int nodump = argc > 1 && !strcmp(argv[1], "nodump");
  setvbuf(stdout, NULL, _IOLBF, 0);
  prctl(PR_SET_NAME, "pst-main");
  personality(PER_LINUX | ADDR_NO_RANDOMIZE);
  setpriority(PRIO_PROCESS, 0, 5);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  cpu_set_t cs;
  CPU_ZERO(&cs);
  CPU_SET(ncpu > 1 ? 1 : 0, &cs);
  sched_setaffinity(0, sizeof cs, &cs);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (nodump) prctl(PR_SET_DUMPABLE, 0);

  sigset_t b;
  sigemptyset(&b);
  sigaddset(&b, SIGUSR1);
  sigaddset(&b, SIGUSR2);
  sigaddset(&b, SIGRTMIN + 1);
  sigaddset(&b, SIGRTMIN + 2);
  sigaddset(&b, SIGRTMIN + 3);
  sigaddset(&b, SIGRTMIN + 5);
  pthread_sigmask(SIG_BLOCK, &b, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_fire;
  sigaction(SIGRTMIN + 4, &sa, NULL);

  pthread_t th;
  pthread_create(&th, NULL, worker, NULL);
  wait_phase(1);

  // Pending: process-wide SIGUSR1 and two queued RT+1; SIGUSR2 for main only; RT+2 for the worker.
  kill(getpid(), SIGUSR1);
  union sigval v;
  v.sival_int = 11;
  sigqueue(getpid(), SIGRTMIN + 1, v);
  v.sival_int = 22;
  sigqueue(getpid(), SIGRTMIN + 1, v);
  syscall(SYS_tgkill, getpid(), getpid(), SIGUSR2);
  v.sival_int = 33;
  pthread_sigqueue(th, SIGRTMIN + 2, v);

  // Interval timers: far away (checked by their time left), ITIMER_VIRTUAL too.
  struct itimerval it = {{7, 0}, {100, 0}};
  setitimer(ITIMER_REAL, &it, NULL);
  struct itimerval iv = {{0, 0}, {50, 0}};
  setitimer(ITIMER_VIRTUAL, &iv, NULL);

  // POSIX timers, ids with a gap: 0 (far, RT+3), [1 deleted], 2 (thread id, fires 300 ms
  // after the restart), 3 (none, disarmed), 4 (SIGEV_THREAD, 400 ms), 5 (RT+4 handler, 200 ms).
  timer_t far = mk(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 3, 44, 0);
  timer_t gone = mk(CLOCK_REALTIME, SIGEV_SIGNAL, SIGRTMIN + 3, 0, 0);
  timer_t tid = mk(CLOCK_MONOTONIC, SIGEV_THREAD_ID, SIGRTMIN + 5, 55, worker_tid);
  timer_t none = mk(CLOCK_BOOTTIME, SIGEV_NONE, 0, 0, 0);
  timer_t thr = mk(CLOCK_MONOTONIC, SIGEV_THREAD, 0, 66, 0);
  timer_t fire = mk(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 4, 77, 0);
  timer_delete(gone);
  arm(far, 300000, 1000);
  read_file("/proc/self/timers", timers_before, sizeof timers_before);

  printf("ready pid=%d timers=%ld,%ld,%ld,%ld,%ld\n", getpid(), (long)far, (long)tid, (long)none, (long)thr, (long)fire);
  char c;
  if (read(0, &c, 1) != 1) return 99;
  // Armed only now: the checkpoint happens while this process waits above; the restored
  // timers must keep these ids and fire as armed. To test that armed timers are restored,
  // the far one (armed before) is checked by its time left.
  struct itimerspec cur;
  CHECK(timer_gettime(far, &cur) == 0 && cur.it_value.tv_sec > 250 && cur.it_value.tv_sec < 300 &&
            cur.it_interval.tv_sec == 1,
        "POSIX timer %ld: left %lds interval %lds", (long)far, (long)cur.it_value.tv_sec, (long)cur.it_interval.tv_sec);
  char timers_after[4096];
  read_file("/proc/self/timers", timers_after, sizeof timers_after);
  CHECK(!strcmp(timers_before, timers_after), "/proc/self/timers unchanged%s%s%s%s", "\n--- before\n", timers_before,
        "--- after\n", timers_after);
  arm(tid, 300, 0);
  arm(thr, 400, 0);
  arm(fire, 200, 0);

  CHECK(personality(0xffffffff) == (PER_LINUX | ADDR_NO_RANDOMIZE), "personality 0x%x", personality(0xffffffff));
  CHECK(getpriority(PRIO_PROCESS, 0) == 5, "main nice %d", getpriority(PRIO_PROCESS, 0));
  cpu_set_t now;
  sched_getaffinity(0, sizeof now, &now);
  CHECK(CPU_EQUAL(&now, &cs), "affinity cpu %d only", ncpu > 1 ? 1 : 0);
  CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs");
  CHECK(prctl(PR_GET_DUMPABLE) == !nodump, "dumpable %d", prctl(PR_GET_DUMPABLE));
  char name[32] = "";
  prctl(PR_GET_NAME, name);
  CHECK(!strcmp(name, "pst-main"), "main comm %s", name);

  struct itimerval got;
  getitimer(ITIMER_REAL, &got);
  CHECK(got.it_value.tv_sec > 80 && got.it_value.tv_sec < 100 && got.it_interval.tv_sec == 7,
        "ITIMER_REAL left %lds interval %lds", (long)got.it_value.tv_sec, (long)got.it_interval.tv_sec);
  getitimer(ITIMER_VIRTUAL, &got);
  CHECK(got.it_value.tv_sec >= 45 && got.it_value.tv_sec <= 50, "ITIMER_VIRTUAL left %lds", (long)got.it_value.tv_sec);

  sigset_t p;
  sigpending(&p);
  CHECK(sigismember(&p, SIGUSR1) && sigismember(&p, SIGUSR2) && sigismember(&p, SIGRTMIN + 1) &&
            !sigismember(&p, SIGRTMIN + 2),
        "main pending USR1, USR2, RT+1 (not the worker's RT+2)");
  siginfo_t si;
  struct timespec z = {0, 0};
  sigset_t w;
  sigemptyset(&w);
  sigaddset(&w, SIGRTMIN + 1);
  int r1 = sigtimedwait(&w, &si, &z);
  int v1 = si.si_value.sival_int;
  int r2 = sigtimedwait(&w, &si, &z);
  int v2 = si.si_value.sival_int;
  int r3 = sigtimedwait(&w, &si, &z);
  CHECK(r1 == SIGRTMIN + 1 && v1 == 11 && r2 == SIGRTMIN + 1 && v2 == 22 && r3 < 0 && si.si_code == SI_QUEUE,
        "RT+1 queued twice, in order: %d %d", v1, v2);
  sigemptyset(&w);
  sigaddset(&w, SIGUSR1);
  int r = sigtimedwait(&w, &si, &z);
  CHECK(r == SIGUSR1 && si.si_code == SI_USER, "SIGUSR1 pending, si_code %d", si.si_code);
  sigemptyset(&w);
  sigaddset(&w, SIGUSR2);
  r = sigtimedwait(&w, &si, &z);
  CHECK(r == SIGUSR2 && si.si_code <= 0 && si.si_pid == getpid(), "SIGUSR2 pending on main: r=%d si_code %d si_pid %d", r,
        si.si_code, si.si_pid);

  set_phase(2);
  wait_phase(3);
  usleep(300000);
  CHECK(fired == 1, "RT+4 timer fired its handler %d time(s)", (int)fired);
  CHECK(thread_fired == 1, "SIGEV_THREAD timer ran its function %d time(s)", (int)thread_fired);
  printf("done failures=%d\n", fails);
  return fails;
}
