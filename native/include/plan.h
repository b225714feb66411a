/* The job plan: one memfd for every process of a job restored together.
 *   struct plan_job                at 0
 *   struct plan_proc[nprocs]       at procs_off (pid order)
 *   job string table               at str_off (image paths)
 *   one process plan per live process, at its plan_off (8-aligned), laid out as below
 * Each restorer finds its own entry by getpid(), creates its children (clone3 set_tid,
 * CLONE_VFORK so siblings come in order; a zombie exits at once, untraced), then restores
 * itself from its plan. Descriptors shared between processes (job objects) are created by
 * the agent and passed: passed k sits at fd pass_floor + k in every restorer of the job.
 *
 * The flat restore plan: what the agent's engine hands the restorer for one process.
 * Shared by the addon (C++, glibc) and the restorer (C, no libc): plain fixed-size
 * structs, little-endian x86_64, no pointers. The engine builds it from the decoded
 * image metadata; the restorer reads it from a descriptor and trusts nothing else.
 *
 * Layout of the plan (one memfd):
 *   struct plan_hdr
 *   struct plan_thread[nthreads]   at thr_off   (leader first)
 *   struct plan_vma[nvmas]         at vma_off   (address order)
 *   struct plan_run[nruns]         at run_off   (runs of vma i are first_run..first_run+nruns-1)
 *   struct plan_fd[nfds]           at fd_off
 *   plan_shm / plan_epoll / plan_watch / plan_lock tables at shm_off.. lock_off (version 3)
 *   struct plan_pipe[npipes]       at pipe_off  (version 4)
 *   struct plan_socket[nsock]      at sock_off  (version 5)
 *   struct plan_sig[nsigs]         at sig_off   (pending signals, queue order)
 *   struct plan_timer[ntimers]     at timer_off
 *   plan_u32 page crcs[ncrcs]      at crc_off   (version 7: crc32c of each page of the checked VMA runs)
 *   string table                   at str_off   (NUL-terminated; a string field is an offset into it, 0 = none)
 *
 * Descriptors the restorer starts with (set up by nsinit before exec):
 *   RFD_PLAN (3)   the plan (read with pread)
 *   RFD_IMAGE (4)  the image file, read-only; page runs are pread from it
 *   RFD_LOG (5)    the restorer log (write-only); one line per failure: "[restorer] FAIL: ..."
 *   RFD_PASSED (6 + k) the k-th descriptor passed by the agent (the restarter's stdio etc.)
 * The restorer first raises RLIMIT_NOFILE's soft limit to the hard one and moves all
 * of these to descriptor numbers >= hdr.fd_floor (F_DUPFD), so they can never collide
 * with a descriptor of the process being restored; it closes them before its int3.
 */
#ifndef CAIRN_PLAN_H
#define CAIRN_PLAN_H

#ifdef __cplusplus
#include <cstdint>
typedef uint64_t plan_u64;
typedef uint32_t plan_u32;
typedef int32_t plan_i32;
#elif defined(CAIRN_NOLIBC)
typedef unsigned long long plan_u64;
typedef unsigned int plan_u32;
typedef int plan_i32;
#else
#include <stdint.h>
typedef uint64_t plan_u64;
typedef uint32_t plan_u32;
typedef int32_t plan_i32;
#endif

#define PLAN_MAGIC 0x314e4c504e524143ULL   /* "CARNPLN1" */
#define PLAN_JOB_MAGIC 0x31424f4a4e524143ULL   /* "CARNJOB1" */
#define PLAN_MAX_PROCS 4096
#define PLAN_VERSION 7

/* The restorer's own text/data/bss/stack live here, where applications never map. */
#define RESTORER_BASE 0x10000000000ULL
#define RESTORER_SPAN 0x100000000ULL
#define RESTORER_TMP_VDSO (RESTORER_BASE + 0x80000000ULL)   /* parking place for its vdso/vvar */

#define RFD_PLAN 3
#define RFD_IMAGE 4
#define RFD_LOG 5
#define RFD_PASSED 6         /* where nsinit hands the main restorer the passed descriptors */
#define PLAN_MAX_PASSED 65536
#define PLAN_MAX_THREADS 1024
/* Threads a restorer adds to read its process's memory in (plus its own): 7 more readers, as
 * reads in flight matter more than CPUs (a virtual disk here reads 4 GiB in ~1.8 s with 8 and
 * ~3 s with 2), and up to 4 that fault the memory in ahead of them (restorer.c). */
#define PLAN_FILL_HELPERS 11
#define PLAN_AUXV_WORDS 128

/* plan_vma.kind: same numbers as image.proto VmaKind */
#define PVMA_ANON 0
#define PVMA_FILE_PRIVATE 1
#define PVMA_FILE_SHARED 2
#define PVMA_STACK 3
#define PVMA_SHARED_FILE 4   /* MAP_SHARED of plan_shm[shm - 1] at pgoff */
#define PVMA_SYSV_SHM 5      /* shmat(shmid) at start (version 5): the segment exists already (nsinit) */

/* plan_vma.flags: same bits as image.proto Vma.flags */
#define PVF_GROWSDOWN 1      /* mapped MAP_GROWSDOWN */
#define PVF_DONTFORK 2       /* then madvise MADV_DONTFORK */
#define PVF_DONTDUMP 4       /* MADV_DONTDUMP */
#define PVF_WIPEONFORK 8     /* MADV_WIPEONFORK (private anonymous memory only) */
#define PVF_SYSV_RMID 16     /* PVMA_SYSV_SHM marked for deletion (SHM_DEST): IPC_RMID once attached */
#define PVF_HUGEPAGE 32      /* MADV_HUGEPAGE: before the pages are read, so they come as huge pages */
#define PVF_NOHUGEPAGE 64    /* MADV_NOHUGEPAGE */
#define PVF_NORESERVE 128    /* mapped MAP_NORESERVE: a reservation larger than memory maps again */

/* plan_fd.kind */
#define PFD_FILE 0        /* open(path, flags) then lseek(pos) */
#define PFD_PASSED 1      /* dup of passed descriptor passed_index */
#define PFD_DEVNULL 2     /* open(path, flags): a stateless character device */
#define PFD_DIRECTORY 3   /* open(path, O_RDONLY|O_DIRECTORY) */
#define PFD_EVENTFD 4     /* eventfd2(0, flags) + write(count) */
#define PFD_TIMERFD 5     /* timerfd_create(clockid) + TFD_IOC_SET_TICKS(count) + timerfd_settime */
#define PFD_SIGNALFD 6    /* signalfd4(-1, sigmask) */
#define PFD_EPOLL 7       /* epoll_create1; its targets are added once every descriptor exists */
#define PFD_INOTIFY 8     /* inotify_init1 + watches, each given its saved wd */
#define PFD_SHARED_FILE 9 /* reopen of plan_shm[shm - 1] through /proc/self/fd with flags, then lseek(pos) */
#define PFD_PIPE 10       /* dup of an end of plan_pipe[pipe - 1] (O_ACCMODE of flags), then F_SETFL */
#define PFD_DUP 11        /* dup of the lower descriptor dup_of: one open file description */
#define PFD_SOCKET 12     /* dup of plan_socket[sock - 1], then F_SETFL */

/* plan_socket.state: same numbers as image.proto SocketState */
#define PSOCK_UNBOUND 0   /* socket() */
#define PSOCK_PAIR 1      /* socketpair() with its peer (or a temporary end, closed after the refill) */
#define PSOCK_LISTEN 2    /* bind(name) + listen(backlog) */
#define PSOCK_BOUND 3     /* bind(name), connect(peer_name) if set */
#define PLAN_SOCK_OPTS 12

/* plan_shm.kind: same numbers as image.proto SharedFileKind */
#define PSHM_MEMFD 0      /* memfd_create(name) */
#define PSHM_DELETED 1    /* open(dirname(name), O_TMPFILE), else memfd_create(basename) */
#define PSHM_ANON 2       /* shared anonymous memory: a memfd */

/* plan_lock.kind: same numbers as image.proto LockKind */
#define PLOCK_FLOCK 0
#define PLOCK_POSIX 1
#define PLOCK_OFD 2

/* PR_SET_MM_MAP fields, in the kernel's struct prctl_mm_map order */
enum { MM_START_CODE, MM_END_CODE, MM_START_DATA, MM_END_DATA, MM_START_BRK, MM_BRK, MM_START_STACK,
       MM_ARG_START, MM_ARG_END, MM_ENV_START, MM_ENV_END, MM_NFIELDS };

struct plan_job {
	plan_u64 magic;          /* PLAN_JOB_MAGIC */
	plan_u32 version;        /* PLAN_VERSION */
	plan_u32 nprocs;
	plan_u64 procs_off, str_off;
	plan_u32 total_size;
	plan_i32 main_pid;       /* the process init creates; it creates the other children of init (CLONE_PARENT) */
	plan_u32 pass_floor;     /* passed k is fd pass_floor + k in every restorer */
	plan_u32 npassed;
	plan_i32 helper_tid;     /* > every id of the job: process k's memory-fill helper threads take
	                          * helper_tid + k * PLAN_FILL_HELPERS + j (0: none), so that they
	                          * steal no id of the job */
	plan_u32 pad;
};

struct plan_proc {
	plan_i32 pid, ppid, pgid, sid;   /* in the job's namespace; pgid/sid 0 = outside (inherited) */
	plan_u32 zombie;         /* exits at once with status, never traced */
	plan_i32 status;         /* zombie: wait status */
	plan_u64 plan_off, plan_size;
	plan_u32 image_path;     /* job string: the image file, opened by the restorer itself */
	plan_u32 pages_passed;   /* 0: VMA page runs are read from the image; k + 1: from passed k
	                          * (a memfd the agent decompressed them into; holes are zero pages) */
	char comm[16];           /* zombie: its name */
};

struct plan_sigaction {      /* kernel struct sigaction layout (x86_64): handler, flags, restorer, mask */
	plan_u64 handler, flags, restorer, mask;
	plan_u32 valid;          /* 0: leave SIG_DFL */
	plan_u32 pad;
};

struct plan_hdr {
	plan_u64 magic;
	plan_u32 version;
	plan_u32 total_size;     /* bytes of the whole plan */
	plan_i32 pid;            /* ns pid the restorer was created with (a check) */
	plan_u32 nthreads, nvmas, nruns, nfds;
	plan_u32 fd_floor;       /* > every fd number in fds[] */
	plan_u64 thr_off, vma_off, run_off, fd_off, str_off;
	plan_u64 mm[MM_NFIELDS];
	plan_u64 auxv[PLAN_AUXV_WORDS];
	plan_u32 auxv_bytes;
	plan_u32 umask;
	plan_u64 vvar_start, vvar_end, vclock_start, vclock_end, vdso_start, vdso_end;
	struct plan_sigaction sa[65];    /* index = signal number; 0 unused */
	char comm[16];
	plan_u32 exe;            /* string: executable path for PR_SET_MM_MAP exe_fd (0: keep) */
	plan_u32 cwd;            /* string: working directory */
	char hostname[65];
	char pad2[7];
	/* version 2: process-level state */
	plan_u64 sig_off, timer_off;     /* struct plan_sig[nsigs], struct plan_timer[ntimers] */
	plan_u32 nsigs, ntimers;
	plan_u64 itimer[3][4];   /* struct itimerval per ITIMER_REAL/VIRTUAL/PROF: interval {s, us}, value {s, us} */
	plan_u32 personality;
	plan_u32 dumpable;       /* PR_SET_DUMPABLE, the leader's very last step */
	/* version 3: descriptor kinds and shared files (restorer_fds.c) */
	plan_u64 shm_off, ep_off, watch_off, lock_off;   /* plan_shm[], plan_epoll[], plan_watch[], plan_lock[] */
	plan_u32 nshm, nep, nwatch, nlocks;
	/* version 4 */
	plan_u64 pipe_off;       /* struct plan_pipe[npipes] */
	plan_u32 npipes;
	plan_u32 pass_floor;     /* passed k is at pass_floor + k (plan_job); fd_floor = pass_floor + npassed */
	plan_u32 npassed;
	plan_u32 pad4;
	/* version 5 */
	plan_u64 sock_off;       /* struct plan_socket[nsock] */
	plan_u32 nsock;
	plan_u32 pad5;
	/* version 7 */
	plan_u64 crc_off;        /* plan_u32[ncrcs]: page crcs the restorer checks the filled memory against */
	plan_u32 ncrcs;
	plan_u32 pad7;
};

struct plan_thread {
	plan_i32 tid;
	plan_u32 rseq_len;
	plan_u64 clear_child_tid, robust_list, robust_list_len, rseq_ptr;
	plan_u32 rseq_sig;
	plan_i32 altstack_flags;
	plan_u64 altstack_sp, altstack_size;
	/* version 2 */
	char comm[16];           /* PR_SET_NAME of this thread ("": keep) */
	plan_u32 no_new_privs;   /* PR_SET_NO_NEW_PRIVS, last before the int3 (it cannot be undone) */
	plan_u32 pad;
	/* version 4 */
	plan_u64 timerslack_ns;  /* PR_SET_TIMERSLACK (0: keep) */
};

/* A pending signal to queue again, in the order it was queued. tid 0: process-wide, queued
 * by the leader with rt_sigqueueinfo; else queued by thread tid to itself with
 * rt_tgsigqueueinfo (the kernel lets a thread forge any si_code only to itself). */
struct plan_sig {
	plan_i32 tid;
	plan_i32 sig;
	plan_u64 info[16];       /* siginfo_t, 128 bytes */
};

/* A POSIX timer, recreated with the same id (PR_TIMER_CREATE_RESTORE_IDS) and re-armed
 * relative to now with the time it had left. */
struct plan_timer {
	plan_i32 id, clock, signo, notify;   /* notify: SIGEV_*, with SIGEV_THREAD_ID */
	plan_i32 notify_tid;
	plan_u32 pad;
	plan_u64 sigval;
	plan_u64 its[4];         /* struct itimerspec: interval {s, ns}, value {s, ns} */
};

struct plan_vma {
	plan_u64 start, end, pgoff;
	plan_u32 prot;           /* PROT_* */
	plan_u32 kind;           /* PVMA_* */
	plan_u32 path;           /* string, file mappings */
	plan_u32 first_run, nruns;
	plan_u32 flags;          /* PVF_* (version 4) */
	plan_u32 shm;            /* PVMA_SHARED_FILE: index + 1 into plan_shm */
	plan_i32 shmid;          /* PVMA_SYSV_SHM (version 5) */
};

struct plan_run {
	plan_u64 addr, len, offset;   /* bytes [addr, addr+len) come from the image at offset */
	plan_u64 crc_first;           /* version 7: its first page's crc in the page crc table, or PLAN_NO_CRC */
};
#define PLAN_NO_CRC (~0ULL)       /* the run is not checked by the restorer (the agent checks it) */

struct plan_fd {
	plan_i32 fd;
	plan_u32 kind;           /* PFD_* */
	plan_u32 flags;          /* open flags (O_ACCMODE|O_APPEND|O_NONBLOCK|...), no O_CREAT/O_TRUNC/O_CLOEXEC */
	plan_u32 cloexec;
	plan_u64 pos;
	plan_u32 path;           /* string */
	plan_i32 passed_index;   /* PFD_PASSED */
	plan_u32 shm;            /* PFD_SHARED_FILE: index + 1 into plan_shm */
	plan_i32 clockid;        /* PFD_TIMERFD */
	plan_u64 count;          /* PFD_EVENTFD: counter; PFD_TIMERFD: expirations not yet read */
	plan_u64 sigmask;        /* PFD_SIGNALFD */
	plan_u64 value_ns, interval_ns;   /* PFD_TIMERFD: next expiry (absolute when tflags has TFD_TIMER_ABSTIME), period */
	plan_u32 tflags;         /* PFD_TIMERFD: timerfd_settime flags; PFD_EVENTFD: EFD_SEMAPHORE */
	plan_u32 first_sub, nsub;   /* PFD_EPOLL: plan_epoll[]; PFD_INOTIFY: plan_watch[] */
	plan_u32 first_lock, nlocks;   /* plan_lock[]: taken once every descriptor exists */
	plan_u32 pipe;           /* PFD_PIPE: index + 1 into plan_pipe */
	plan_i32 dup_of;         /* PFD_DUP: an earlier (lower) fd of this plan */
	plan_u32 sock;           /* PFD_SOCKET: index + 1 into plan_socket (version 5) */
};

/* A pipe: created before the descriptors (pipe2, F_SETPIPE_SZ), refilled with its bytes in
 * flight spliced from the image; the ends the process holds are dup'ed from it. */
struct plan_pipe {
	plan_u32 capacity;       /* F_SETPIPE_SZ (0: leave the default) */
	plan_u32 packet;         /* pipe2 with O_DIRECT */
	plan_u32 first_run, nruns;   /* plan_run[]: its bytes, in order (addr unused) */
	plan_u32 path;           /* string: a FIFO, opened by path (each descriptor its own open) */
	plan_u32 pad;
};

/* A socket, created before the descriptors (restorer_sockets.c): options, then bind/listen,
 * or socketpair with each end refilled from the other (its runs: one per message for
 * datagram/seqpacket), then SO_PEEK_OFF and shutdown. Ends above fd_floor until
 * finish_fd_kinds closes them. */
struct plan_socket {
	plan_i32 family, type, protocol;
	plan_u32 state;          /* PSOCK_* */
	plan_u32 peer;           /* PSOCK_PAIR: index + 1 of the other end here (0: it was closed) */
	plan_u32 passed;         /* 1: made by the agent, every descriptor of it is PFD_PASSED: skipped */
	plan_u32 backlog;
	plan_u32 shutdown;       /* 1 receive side, 2 send side */
	plan_i32 peek_off;       /* SO_PEEK_OFF (-1: leave) */
	plan_u32 name_len, peer_len, nopts;
	plan_u32 first_run, nruns;   /* plan_run[]: what is queued for reading on it (addr unused) */
	plan_u32 mode;           /* UNIX path socket: chmod of its file after bind (0: leave) */
	plan_u32 pad;
	plan_i32 opts[PLAN_SOCK_OPTS][3];   /* setsockopt(level, name, int value), before bind */
	unsigned char name[128];            /* raw sockaddr (LISTEN, BOUND) */
	unsigned char peer_name[128];       /* BOUND: connect() to it */
};

struct plan_shm {
	plan_u64 size;
	plan_u32 kind;           /* PSHM_* */
	plan_u32 name;           /* string: memfd name, or the deleted file's path */
	plan_u32 seals;          /* F_ADD_SEALS once memory and descriptors are in place */
	plan_u32 mode;
	plan_u32 first_run, nruns;   /* plan_run[]: addr = offset in the file */
	plan_u32 passed;         /* shared with other processes: index + 1 of the passed descriptor (made and filled by the agent) */
	plan_u32 pad;
};

struct plan_epoll {
	plan_i32 tfd;
	plan_u32 events;
	plan_u64 data;
};

struct plan_watch {
	plan_i32 wd;
	plan_u32 mask;
	plan_u32 path;           /* string */
	plan_u32 pad;
};

struct plan_lock {
	plan_u32 kind;           /* PLOCK_* */
	plan_u32 write;
	plan_u64 start, len;     /* len 0: to the end of the file */
};

#endif
