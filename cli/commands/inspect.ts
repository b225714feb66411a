// cairn inspect [DIR | IMAGE.cimg...]: what a checkpoint holds, readable by a person, or one
// JSON document for tools (--json). Takes what `cairn restart` takes and checks what restart
// checks (header, metadata and, with --verify, every page run's crc32c), without running
// anything.
import path from 'node:path';
import protobuf from 'protobufjs';
import { loadEngine } from '../../agent/engine-api.js';
import { encodeImage, readImage, type LoadedImage, type ProcessImageObject } from '../../agent/image-file.js';
import { resolveRestartTarget, type RestartTarget } from '../../agent/restart-target.js';
import { ckptDirOf } from '../../common/coord-address.js';
import { UserError, errorMessage } from '../../common/errors.js';
import { projectRoot } from '../../common/paths.js';
import { formatBytes } from '../output.js';

export interface InspectArgs {
  targets: string[];
  json?: boolean;
  verify?: boolean;
  ckptdir?: string;
}

// x86_64 syscall numbers 0..334 and 424..450 (asm/unistd_64.h), to say where a thread stopped.
const SYSCALLS_LOW = `read write open close stat fstat lstat poll lseek mmap mprotect munmap brk rt_sigaction rt_sigprocmask
rt_sigreturn ioctl pread64 pwrite64 readv writev access pipe select sched_yield mremap msync mincore madvise
shmget shmat shmctl dup dup2 pause nanosleep getitimer alarm setitimer getpid sendfile socket connect accept
sendto recvfrom sendmsg recvmsg shutdown bind listen getsockname getpeername socketpair setsockopt getsockopt
clone fork vfork execve exit wait4 kill uname semget semop semctl shmdt msgget msgsnd msgrcv msgctl fcntl
flock fsync fdatasync truncate ftruncate getdents getcwd chdir fchdir rename mkdir rmdir creat link unlink
symlink readlink chmod fchmod chown fchown lchown umask gettimeofday getrlimit getrusage sysinfo times ptrace
getuid syslog getgid setuid setgid geteuid getegid setpgid getppid getpgrp setsid setreuid setregid getgroups
setgroups setresuid getresuid setresgid getresgid getpgid setfsuid setfsgid getsid capget capset
rt_sigpending rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend sigaltstack utime mknod uselib personality ustat
statfs fstatfs sysfs getpriority setpriority sched_setparam sched_getparam sched_setscheduler
sched_getscheduler sched_get_priority_max sched_get_priority_min sched_rr_get_interval mlock munlock mlockall
munlockall vhangup modify_ldt pivot_root _sysctl prctl arch_prctl adjtimex setrlimit chroot sync acct
settimeofday mount umount2 swapon swapoff reboot sethostname setdomainname iopl ioperm create_module
init_module delete_module get_kernel_syms query_module quotactl nfsservctl getpmsg putpmsg afs_syscall
tuxcall security gettid readahead setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr
llistxattr flistxattr removexattr lremovexattr fremovexattr tkill time futex sched_setaffinity
sched_getaffinity set_thread_area io_setup io_destroy io_getevents io_submit io_cancel get_thread_area
lookup_dcookie epoll_create epoll_ctl_old epoll_wait_old remap_file_pages getdents64 set_tid_address
restart_syscall semtimedop fadvise64 timer_create timer_settime timer_gettime timer_getoverrun timer_delete
clock_settime clock_gettime clock_getres clock_nanosleep exit_group epoll_wait epoll_ctl tgkill utimes
vserver mbind set_mempolicy get_mempolicy mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify
mq_getsetattr kexec_load waitid add_key request_key keyctl ioprio_set ioprio_get inotify_init
inotify_add_watch inotify_rm_watch migrate_pages openat mkdirat mknodat fchownat futimesat newfstatat
unlinkat renameat linkat symlinkat readlinkat fchmodat faccessat pselect6 ppoll unshare set_robust_list
get_robust_list splice tee sync_file_range vmsplice move_pages utimensat epoll_pwait signalfd timerfd_create
eventfd fallocate timerfd_settime timerfd_gettime accept4 signalfd4 eventfd2 epoll_create1 dup3 pipe2
inotify_init1 preadv pwritev rt_tgsigqueueinfo perf_event_open recvmmsg fanotify_init fanotify_mark prlimit64
name_to_handle_at open_by_handle_at clock_adjtime syncfs sendmmsg setns getcpu process_vm_readv
process_vm_writev kcmp finit_module sched_setattr sched_getattr renameat2 seccomp getrandom memfd_create
kexec_file_load bpf execveat userfaultfd membarrier mlock2 copy_file_range preadv2 pwritev2 pkey_mprotect
pkey_alloc pkey_free statx io_pgetevents rseq`.split(/\s+/);
const SYSCALLS_HIGH = `pidfd_send_signal io_uring_setup io_uring_enter io_uring_register open_tree move_mount fsopen fsconfig
fsmount fspick pidfd_open clone3 close_range openat2 pidfd_getfd faccessat2 process_madvise epoll_pwait2
mount_setattr quotactl_fd landlock_create_ruleset landlock_add_rule landlock_restrict_self memfd_secret
process_mrelease futex_waitv set_mempolicy_home_node`.split(/\s+/);

function syscallName(nr: number): string {
  const name = nr < SYSCALLS_LOW.length ? SYSCALLS_LOW[nr] : SYSCALLS_HIGH[nr - 424];
  return name ?? `syscall ${nr}`;
}

// struct user_regs_struct (x86_64), 27 eight-byte fields in this order.
const REG_NAMES = ['r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8', 'rax', 'rcx', 'rdx', 'rsi', 'rdi', 'orig_rax', 'rip', 'cs', 'eflags', 'rsp', 'ss', 'fs_base', 'gs_base', 'ds', 'es', 'fs', 'gs'];
// The kernel's syscall-restart codes, seen in rax when a thread was stopped inside a call.
const RESTART_CODES: Record<number, string> = { 512: 'ERESTARTSYS', 513: 'ERESTARTNOINTR', 514: 'ERESTARTNOHAND', 516: 'ERESTART_RESTARTBLOCK' };

const SIGNALS = ['', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1', 'SIGSEGV', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS'];
const signalName = (n: number) => SIGNALS[n] ?? `SIG${n}`;
const RLIMITS = ['CPU', 'FSIZE', 'DATA', 'STACK', 'CORE', 'RSS', 'NPROC', 'NOFILE', 'MEMLOCK', 'AS', 'LOCKS', 'SIGPENDING', 'MSGQUEUE', 'NICE', 'RTPRIO', 'RTTIME'];
const RLIM_INFINITY = '18446744073709551615';
const SA_FLAGS: Array<[bigint, string]> = [[1n, 'NOCLDSTOP'], [2n, 'NOCLDWAIT'], [4n, 'SIGINFO'], [0x04000000n, 'RESTORER'], [0x08000000n, 'ONSTACK'], [0x10000000n, 'RESTART'], [0x40000000n, 'NODEFER'], [0x80000000n, 'RESETHAND']];
const O_FLAGS: Array<[number, string]> = [[0o100, 'CREAT'], [0o200, 'EXCL'], [0o400, 'NOCTTY'], [0o1000, 'TRUNC'], [0o2000, 'APPEND'], [0o4000, 'NONBLOCK'], [0o10000, 'DSYNC'], [0o20000, 'ASYNC'], [0o40000, 'DIRECT'], [0o100000, 'LARGEFILE'], [0o200000, 'DIRECTORY'], [0o400000, 'NOFOLLOW'], [0o1000000, 'NOATIME'], [0o4000000, 'SYNC'], [0o10000000, 'PATH'], [0o20000000, 'TMPFILE']];

// Enum names come from the schema itself, so kinds added to image.proto show by name.
let schema: protobuf.Root | undefined;
function imageSchema(): protobuf.Root {
  if (!schema) schema = protobuf.loadSync(path.join(projectRoot(), 'protos', 'image.proto'));
  return schema;
}
// readImage gives enums as numbers (the generated types say names): accept both.
function enumNum(enumType: string, value: unknown): number {
  return typeof value === 'number' ? value : (imageSchema().lookupEnum(`cairn.image.${enumType}`).values[String(value)] ?? -1);
}
function enumName(enumType: string, value: unknown, prefix: string): string {
  const name = imageSchema().lookupEnum(`cairn.image.${enumType}`).valuesById[enumNum(enumType, value)];
  return name ? name.replace(prefix, '').toLowerCase().replace(/_/g, '-') : String(value);
}

/** The image metadata in protobuf's JSON form (enums by name, bytes base64, 64-bit as strings). */
function canonical(image: ProcessImageObject): Record<string, unknown> {
  const t = imageSchema().lookupType('cairn.image.ProcessImage');
  return t.toObject(t.decode(encodeImage(image as never)), { longs: String, enums: String, bytes: String, defaults: true, arrays: true }) as Record<string, unknown>;
}

const hex = (v: bigint | string | number) => '0x' + BigInt(v).toString(16);
const num = (v: string | number | undefined) => Number(v ?? 0);

function sigset(mask: string | number): string[] {
  const m = BigInt(mask);
  const out: string[] = [];
  for (let s = 1; s <= 64; s++) if (m & (1n << BigInt(s - 1))) out.push(signalName(s));
  return out;
}

/** A signal set for people: the signals, or "all but ..." when most are in it. */
function sigsetText(mask: string | number): string {
  const set = sigset(mask);
  if (set.length === 0) return 'none';
  if (set.length <= 32) return set.join(' ');
  const rest: string[] = [];
  for (let s = 1; s <= 64; s++) if (!set.includes(signalName(s))) rest.push(signalName(s));
  return rest.length ? `all but ${rest.join(' ')}` : 'all';
}

function openFlags(flags: number): string[] {
  const acc = ['RDONLY', 'WRONLY', 'RDWR', 'ACCMODE3'][flags & 3]!;
  return [acc, ...O_FLAGS.filter(([bit]) => flags & bit).map(([, n]) => n)];
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

type Vma = ProcessImageObject['vmas'][number];
type Thread = ProcessImageObject['threads'][number];

const storedBytes = (v: Vma) => v.runs.reduce((n, r) => n + num(r.len), 0);
const vmaLabel = (v: Vma) => v.path || v.name || '[anon]';

function protString(v: Vma): string {
  const p = v.prot;
  return `${p & 1 ? 'r' : '-'}${p & 2 ? 'w' : '-'}${p & 4 ? 'x' : '-'}${enumNum('VmaKind', v.kind) === 2 ? 's' : 'p'}`;
}

interface ThreadStop {
  tid: number;
  rip: string;
  rsp: string;
  /** orig_rax: the syscall the thread was in, or -1 when it was in user code. */
  origRax: number;
  syscall: string | null;
  /** rax when it holds a syscall-restart code (the call is restarted on resume). */
  restart: string | null;
  /** The mapping rip points into, as file+offset. */
  where: string | null;
  regs: Record<string, string>;
}

function threadStop(t: Thread, vmas: Vma[]): ThreadStop {
  const regs: Record<string, string> = {};
  const b = t.regs;
  for (let i = 0; i < REG_NAMES.length && (i + 1) * 8 <= b.length; i++) regs[REG_NAMES[i]!] = hex(b.readBigUInt64LE(i * 8));
  const have = b.length >= 17 * 8;
  const rip = have ? b.readBigUInt64LE(16 * 8) : 0n;
  const origRax = have ? Number(b.readBigInt64LE(15 * 8)) : -1;
  const rax = have ? Number(b.readBigInt64LE(10 * 8)) : 0;
  const vma = vmas.find((v) => BigInt(v.start) <= rip && rip < BigInt(v.end));
  const where = vma ? `${path.basename(vmaLabel(vma))}+${hex(rip - BigInt(vma.start) + BigInt(vma.pgoff))}` : null;
  return {
    tid: t.tid,
    rip: hex(rip),
    rsp: regs.rsp ?? '0x0',
    origRax,
    syscall: origRax >= 0 ? syscallName(origRax) : null,
    restart: origRax >= 0 ? (RESTART_CODES[-rax] ?? null) : null,
    where,
    regs,
  };
}

type Check = 'ok' | 'not checked' | 'no manifest' | string;

interface Inspected {
  loaded: LoadedImage;
  checks: { header: Check; metadata: Check; manifest: Check; pages: Check };
  problems: string[];
}

function check(loaded: LoadedImage, target: RestartTarget): Inspected {
  const problems: string[] = [];
  const name = path.basename(loaded.file);
  // readImage has already refused a bad header or metadata: both verified.
  let manifest: Check = 'no manifest';
  if (target.manifest) {
    const entry = target.manifest.hosts.flatMap((h) => h.images).find((i) => i.file === name);
    if (!entry) manifest = 'not listed in the manifest';
    else if (entry.metaCrc32c !== loaded.metaCrc) manifest = `metadata crc32c ${hex(loaded.metaCrc)} differs from the manifest's ${hex(entry.metaCrc32c)}`;
    else if (num(entry.bytes) !== loaded.bytes) manifest = `size ${loaded.bytes} differs from the manifest's ${entry.bytes}`;
    else manifest = 'ok';
    if (manifest !== 'ok') problems.push(`image ${loaded.file}: ${manifest}`);
  }
  return { loaded, checks: { header: 'ok', metadata: 'ok', manifest, pages: 'not checked' }, problems };
}

function printGeneration(target: RestartTarget, out: string[]): void {
  const m = target.manifest;
  if (!m) {
    out.push(`Images in ${target.genDir} (no manifest: not a committed generation)`, '');
    return;
  }
  out.push(`Generation ${m.generation} of job ${m.jobId}`);
  out.push(`  directory  ${target.genDir}`);
  out.push(`  written    ${new Date(num(m.createdUnixMs)).toISOString()}`);
  out.push(`  cairn      ${m.cairnVersion} (manifest format ${m.formatVersion})`);
  out.push(`  command    ${m.argv.map(quote).join(' ')}`);
  out.push(`  interval   ${m.intervalS ? `${m.intervalS} s` : 'none'}`);
  for (const h of m.hosts) out.push(`  host       ${h.host}: ${h.images.length} process image(s), cwd ${h.cwd}`);
  out.push('');
}

function table(rows: string[][], indent: string): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

function isDefault(v: unknown): boolean {
  if (v === null || v === undefined || v === '' || v === 0 || v === '0' || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as Record<string, unknown>).every(isDefault);
  return false;
}

/** Fields of a message this version of inspect does not lay out itself, when they hold something. */
function extras(obj: Record<string, unknown>, known: Set<string>): Array<[string, unknown]> {
  return Object.entries(obj).filter(([k, v]) => !known.has(k) && !isDefault(v));
}

// Fields laid out below; anything else that holds something is shown as it is (newer schemas).
const KNOWN_IMAGE = new Set(['formatVersion', 'cairnVersion', 'nsPid', 'nsPpid', 'comm', 'exe', 'cwd', 'umask', 'hostname', 'mm', 'auxv', 'threads', 'vmas', 'fds', 'sigactions', 'rlimits', 'clocks', 'special', 'pagesBytes', 'pagesCodec', 'pageFrames', 'argv', 'nsPgid', 'nsSid', 'sharedFiles', 'pipes', 'ptys', 'zombies', 'sharedPending', 'itimers', 'posixTimers', 'personality', 'nonDumpable']);
const KNOWN_THREAD = new Set(['tid', 'regs', 'xstate', 'sigmask', 'clearChildTid', 'robustList', 'robustListLen', 'rseqPtr', 'rseqLen', 'rseqSig', 'altstackSp', 'altstackSize', 'altstackFlags', 'pending', 'cpuAffinity', 'nice', 'comm', 'noNewPrivs', 'schedPolicy', 'schedPriority', 'schedResetOnFork', 'timerslackNs']);
const KNOWN_FD = new Set(['fd', 'kind', 'path', 'flags', 'cloexec', 'pos', 'size', 'file', 'inheritedIndex', 'eventfdCount', 'eventfdSemaphore', 'timerfdClockid', 'timerfdTicks', 'timerfdSettimeFlags', 'timerfdValueNs', 'timerfdIntervalNs', 'signalfdMask', 'epollTargets', 'inotifyWatches', 'sharedFile', 'pipe', 'ofd', 'locks', 'ptyIndex', 'ptyMaster']);
const KNOWN_VMA = new Set(['start', 'end', 'prot', 'kind', 'path', 'pgoff', 'file', 'runs', 'name', 'sharedFile', 'flags']);

// The canonical (protobuf JSON) form: enums by name, 64-bit and bytes as strings.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = any;

const CLOCKS = ['REALTIME', 'MONOTONIC', 'PROCESS_CPUTIME', 'THREAD_CPUTIME', 'MONOTONIC_RAW', 'REALTIME_COARSE', 'MONOTONIC_COARSE', 'BOOTTIME', 'REALTIME_ALARM', 'BOOTTIME_ALARM', '10', 'TAI'];
const EPOLL_EVENTS: Array<[number, string]> = [[0x1, 'IN'], [0x2, 'PRI'], [0x4, 'OUT'], [0x8, 'ERR'], [0x10, 'HUP'], [0x40, 'RDNORM'], [0x80, 'RDBAND'], [0x100, 'WRNORM'], [0x200, 'WRBAND'], [0x400, 'MSG'], [0x2000, 'RDHUP'], [1 << 28, 'EXCLUSIVE'], [1 << 29, 'WAKEUP'], [1 << 30, 'ONESHOT'], [2 ** 31, 'ET']];
const ITIMERS = ['REAL', 'VIRTUAL', 'PROF'];
const SCHED: Record<number, string> = { 0: 'other', 1: 'fifo', 2: 'rr', 3: 'batch', 5: 'idle', 6: 'deadline', 7: 'ext' };
const VMA_FLAGS: Array<[number, string]> = [[1, 'growsdown'], [2, 'dontfork'], [4, 'dontdump'], [8, 'wipeonfork'], [32, 'hugepage'], [64, 'nohugepage']];
const NOTIFY: Record<number, string> = { 0: 'signal', 1: 'none', 2: 'thread', 4: 'thread-id' };
const secs = (ns: string | number, unit = 1e9) => `${(Number(ns) / unit).toFixed(3)} s`;
const clockName = (c: number) => CLOCKS[c] ?? String(c);
const shortEnum = (v: unknown) => String(v).replace(/^[A-Z]+_/, '').toLowerCase();

function cpuList(b64: string): string {
  const b = Buffer.from(b64, 'base64');
  const cpus: number[] = [];
  for (let i = 0; i < b.length * 8; i++) if (b[i >> 3]! & (1 << (i & 7))) cpus.push(i);
  const ranges: string[] = [];
  for (let i = 0; i < cpus.length; i++) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    ranges.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j;
  }
  return ranges.join(',') || 'none';
}

const pendingNames = (list: J[] | undefined) => (list ?? []).map((p: J) => signalName(p.sig)).join(' ');

/** What a descriptor of a special kind holds, in a few words. */
function fdDetail(f: J, sharedFiles: J[], pipes: J[]): string {
  const parts: string[] = [];
  switch (f.kind) {
    case 'FD_EVENTFD':
      parts.push(`count ${f.eventfdCount}${f.eventfdSemaphore ? ' (semaphore)' : ''}`);
      break;
    case 'FD_TIMERFD':
      parts.push(`${clockName(f.timerfdClockid)}, ${Number(f.timerfdValueNs) ? `next in ${secs(f.timerfdValueNs)}` : 'disarmed'}${Number(f.timerfdIntervalNs) ? `, every ${secs(f.timerfdIntervalNs)}` : ''}${Number(f.timerfdTicks) ? `, ${f.timerfdTicks} unread` : ''}`);
      break;
    case 'FD_SIGNALFD':
      parts.push(`signals ${sigsetText(f.signalfdMask)}`);
      break;
    case 'FD_EPOLL':
      parts.push(`watches ${(f.epollTargets as J[]).map((e: J) => `fd ${e.tfd} ${EPOLL_EVENTS.filter(([bit]) => (e.events >>> 0) & bit).map(([, n]) => n).join('|') || '0'} data ${hex(e.data)}`).join('; ') || 'nothing'}`);
      break;
    case 'FD_INOTIFY':
      parts.push(`watches ${(f.inotifyWatches as J[]).map((w: J) => `wd ${w.wd} ${w.path} mask ${hex(w.mask)}`).join('; ') || 'nothing'}`);
      break;
    case 'FD_SHARED_FILE': {
      const sf = sharedFiles[Number(f.sharedFile) - 1];
      parts.push(`shared file #${f.sharedFile}${sf ? ` (${shortEnum(sf.kind)} ${sf.name})` : ''}`);
      break;
    }
    case 'FD_PIPE': {
      const p = pipes[Number(f.pipe) - 1];
      parts.push(`${(Number(f.flags) & 3) === 1 ? 'write' : 'read'} end of pipe #${f.pipe}${p ? ` (${p.bytes ?? 0} bytes in flight)` : ''}`);
      break;
    }
    case 'FD_PTY':
      parts.push(`${f.ptyMaster ? 'master' : 'slave'} of pseudo-terminal ${f.ptyIndex ?? 0}`);
      break;
  }
  for (const l of (f.locks as J[] | undefined) ?? []) parts.push(`${shortEnum(l.kind)} ${l.write ? 'write' : 'read'} lock ${l.start}+${l.len === '0' ? 'eof' : l.len}`);
  return parts.length ? ` ${parts.join(', ')}` : '';
}

function printProcess(x: Inspected, canon: J, out: string[]): void {
  const { image: img, file, bytes, metaCrc } = x.loaded;
  const stops = img.threads.map((t) => threadStop(t, img.vmas));
  const sharedFiles: J[] = canon.sharedFiles ?? [];
  const pipes: J[] = canon.pipes ?? [];
  const group = (id: number | undefined) => (id ? String(id) : "the launcher's");
  out.push(`Process ${img.comm}, pid ${img.nsPid} (parent ${img.nsPpid}, process group ${group(canon.nsPgid)}, session ${group(canon.nsSid)})`);
  for (const z of (canon.zombies as J[] | undefined) ?? []) {
    const st = Number(z.status ?? 0);
    const how = st & 0x7f ? `killed by signal ${st & 0x7f}` : `exited with ${(st >> 8) & 0xff}`;
    out.push(`  zombie child ${z.nsPid} (${z.comm}): ${how}, not waited for yet`);
  }
  const codec = shortEnum(canon.pagesCodec ?? 'CODEC_NONE');
  const pageStore = codec === 'none' ? 'zero pages as holes' : `${codec}, ${((canon.pageFrames as J[] | undefined) ?? []).length} frames, zero pages left out`;
  out.push(`  image      ${path.basename(file)}: ${formatBytes(bytes)} (${bytes} bytes; pages ${formatBytes(num(img.pagesBytes))}: ${pageStore}), written by cairn ${img.cairnVersion}, format ${img.formatVersion}`);
  // Incremental: the pages that are in older generations' images.
  const older = new Map<string, number>();
  for (const v of img.vmas)
    for (const r of v.runs as Array<{ file?: string; len: unknown }>)
      if (r.file) older.set(r.file.split('/')[0]!, (older.get(r.file.split('/')[0]!) ?? 0) + num(r.len as never));
  if (older.size)
    out.push(`  incremental pages not written since are read from ${[...older].sort().map(([g, n]) => `${g} (${formatBytes(n)})`).join(', ')}`);
  const runs = img.vmas.reduce((n, v) => n + v.runs.length, 0) + [...sharedFiles, ...pipes, ...((canon.ptys as J[] | undefined) ?? [])].reduce((n: number, f: J) => n + (f.runs?.length ?? 0), 0);
  out.push(`  checksums  header ${x.checks.header}, metadata crc32c ${hex(metaCrc)} ${x.checks.metadata}, manifest ${x.checks.manifest}, pages (${runs} runs, crc32c each) ${x.checks.pages === 'not checked' ? 'not checked (--verify checks them)' : x.checks.pages}`);
  out.push(`  exe        ${img.exe}`);
  out.push(`  cwd        ${img.cwd}`);
  out.push(`  argv       ${img.argv.map(quote).join(' ')}`);
  const attrs = [`hostname ${img.hostname}`, `umask ${img.umask.toString(8).padStart(4, '0')}`];
  if (canon.personality) attrs.push(`personality ${hex(canon.personality)}`);
  if (canon.nonDumpable) attrs.push('not dumpable');
  out.push(`  attributes ${attrs.join(', ')}`);
  if (img.clocks) {
    out.push(`  clocks     monotonic ${secs(img.clocks.monotonicNs)}, boottime ${secs(img.clocks.boottimeNs)}, realtime ${new Date(Number(BigInt(img.clocks.realtimeNs) / 1000000n)).toISOString()}`);
  }
  if (canon.sharedPending?.length) out.push(`  pending    ${pendingNames(canon.sharedPending)} (process-wide)`);
  out.push('');

  out.push(`  Threads (${img.threads.length})`);
  img.threads.forEach((t, i) => {
    const st = stops[i]!;
    const ct: J = canon.threads?.[i] ?? {};
    const at = `${st.rip}${st.where ? ` (${st.where})` : ''}`;
    const call = st.syscall ? `in syscall ${st.syscall} (${st.origRax})${st.restart ? `, interrupted: ${st.restart}` : ''}` : 'in user code';
    out.push(`    tid ${t.tid}${ct.comm && ct.comm !== img.comm ? ` (${ct.comm})` : ''}: stopped at ${at}, ${call}`);
    const alt = t.altstackFlags & 2 ? 'none' : `${hex(t.altstackSp)}+${hex(t.altstackSize)}`;
    const more = [`blocked ${sigsetText(t.sigmask)}`, `altstack ${alt}`, `rsp ${st.rsp}`, `fs_base ${st.regs.fs_base ?? '?'}`];
    if (ct.pending?.length) more.push(`pending ${pendingNames(ct.pending)}`);
    if (ct.nice) more.push(`nice ${ct.nice}`);
    if (ct.cpuAffinity) more.push(`cpus ${cpuList(ct.cpuAffinity)}`);
    if (ct.noNewPrivs) more.push('no_new_privs');
    if (ct.schedPolicy || ct.schedResetOnFork) more.push(`sched ${SCHED[ct.schedPolicy ?? 0] ?? ct.schedPolicy}${ct.schedPriority ? ` ${ct.schedPriority}` : ''}${ct.schedResetOnFork ? ' reset-on-fork' : ''}`);
    if (ct.timerslackNs && ct.timerslackNs !== '50000') more.push(`timerslack ${ct.timerslackNs} ns`);
    out.push(`      ${more.join('; ')}`);
  });
  out.push('');

  const mapped = img.vmas.reduce((n, v) => n + num(v.end) - num(v.start), 0);
  const stored = img.vmas.reduce((n, v) => n + storedBytes(v), 0);
  out.push(`  Memory (${img.vmas.length} regions, ${formatBytes(mapped)} mapped, ${formatBytes(stored)} stored in the image)`);
  const vrows = [['start-end', 'prot', 'kind', 'size', 'stored', 'mapping']];
  img.vmas.forEach((v, i) => {
    const sfi = Number(canon.vmas?.[i]?.sharedFile ?? 0);
    const sf = sfi ? sharedFiles[sfi - 1] : undefined;
    const label = sf ? `shared file #${sfi} (${shortEnum(sf.kind)} ${sf.name})` : v.path ? `${v.path}${num(v.pgoff) ? ` @${hex(v.pgoff)}` : ''}` : v.name || '[anon]';
    const flags = VMA_FLAGS.filter(([bit]) => Number(canon.vmas?.[i]?.flags ?? 0) & bit).map(([, n]) => n);
    vrows.push([`${hex(v.start)}-${hex(v.end)}`, protString(v), enumName('VmaKind', v.kind, 'VMA_'), formatBytes(num(v.end) - num(v.start)), formatBytes(storedBytes(v)), `${label}${flags.length ? ` (${flags.join(', ')})` : ''}`]);
  });
  out.push(...table(vrows, '    '));
  if (img.special) {
    const sp = img.special;
    const r = (a: string, b: string) => `${hex(a)}-${hex(b)}`;
    out.push(`    special: [vvar] ${r(sp.vvarStart, sp.vvarEnd)}${num(sp.vvarVclockStart) ? `, [vvar_vclock] ${r(sp.vvarVclockStart, sp.vvarVclockEnd)}` : ''}, [vdso] ${r(sp.vdsoStart, sp.vdsoEnd)} (moved, never saved)`);
  }
  out.push('');

  if (sharedFiles.length) {
    out.push(`  Shared files (${sharedFiles.length}: memfds, deleted files, shared anonymous memory)`);
    sharedFiles.forEach((f: J, i: number) => {
      const kept = ((f.runs as J[]) ?? []).reduce((n: number, r: J) => n + Number(r.len), 0);
      out.push(`    #${i + 1} ${shortEnum(f.kind)} ${f.name}: ${formatBytes(Number(f.size))}, ${formatBytes(kept)} stored${f.seals ? `, seals ${hex(f.seals)}` : ''}`);
    });
    out.push('');
  }

  if (pipes.length) {
    out.push(`  Pipes (${pipes.length})`);
    pipes.forEach((p: J, i: number) => {
      out.push(`    #${i + 1} pipe:[${p.file?.ino ?? '?'}]: ${p.bytes ?? 0} bytes in flight, capacity ${formatBytes(Number(p.capacity ?? 0))}${p.packet ? ', packet mode' : ''}`);
    });
    out.push('');
  }

  const ptys: J[] = canon.ptys ?? [];
  if (ptys.length) {
    out.push(`  Pseudo-terminals (${ptys.length})`);
    for (const t of ptys) out.push(`    ${t.index ?? 0}: ${t.bytes ?? 0} bytes of output not read by the master${t.locked ? ', locked' : ''}${t.packet ? ', packet mode' : ''}`);
    out.push('');
  }

  out.push(`  Descriptors (${img.fds.length})`);
  const frows = [['fd', 'kind', 'flags', 'offset', 'path']];
  img.fds.forEach((f, i) => {
    const cf: J = canon.fds?.[i] ?? {};
    const flags = openFlags(f.flags).concat(f.cloexec ? ['CLOEXEC'] : []).join('|');
    const more = extras(cf, KNOWN_FD).map(([k, v]) => ` ${k}=${JSON.stringify(v)}`).join('');
    const inherited = enumNum('FdKind', f.kind) === 1 ? ` (launcher's stdio ${f.inheritedIndex})` : '';
    const size = enumNum('FdKind', f.kind) === 0 ? ` (size ${f.size})` : '';
    frows.push([String(f.fd), enumName('FdKind', f.kind, 'FD_'), flags, String(f.pos), `${f.path}${size}${inherited}${fdDetail(cf, sharedFiles, pipes)}${more}`]);
  });
  out.push(...table(frows, '    '), '');

  out.push(`  Signal dispositions (${img.sigactions.length ? 'others are default' : 'all default'})`);
  for (const a of img.sigactions) {
    const handler = a.handler === '0' ? 'default' : a.handler === '1' ? 'ignore' : `handler ${hex(a.handler)}`;
    const flags = SA_FLAGS.filter(([bit]) => BigInt(a.flags) & bit).map(([, n]) => n);
    const mask = sigsetText(a.mask);
    out.push(`    ${signalName(a.sig).padEnd(9)} ${handler}${flags.length ? ` SA_${flags.join('|SA_')}` : ''}${mask !== 'none' ? `, blocks ${mask}` : ''}`);
  }
  out.push('');

  const itimers: J[] = canon.itimers ?? [];
  const ptimers: J[] = canon.posixTimers ?? [];
  if (itimers.length || ptimers.length) {
    out.push(`  Timers (${itimers.length + ptimers.length})`);
    for (const it of itimers) out.push(`    itimer ${ITIMERS[it.which] ?? it.which}: next in ${secs(it.valueUs, 1e6)}${Number(it.intervalUs) ? `, every ${secs(it.intervalUs, 1e6)}` : ''}`);
    for (const pt of ptimers) {
      const notify = `${NOTIFY[pt.notify] ?? pt.notify}${pt.notify !== 1 ? ` ${signalName(pt.signo)}` : ''}${pt.notify === 4 ? ` to tid ${pt.notifyTid}` : ''}`;
      out.push(`    timer ${pt.id} ${clockName(pt.clock)}: ${Number(pt.valueNs) ? `next in ${secs(pt.valueNs)}` : 'disarmed'}${Number(pt.intervalNs) ? `, every ${secs(pt.intervalNs)}` : ''}, notify ${notify}${pt.overrun ? `, overrun ${pt.overrun}` : ''}`);
    }
    out.push('');
  }

  out.push('  Resource limits (soft/hard)');
  const lim = (v: string) => (v === RLIM_INFINITY ? 'unlimited' : v);
  const lrows = img.rlimits.map((r) => [RLIMITS[r.resource] ?? String(r.resource), lim(r.cur), lim(r.max)]);
  for (let i = 0; i < lrows.length; i += 4) out.push('    ' + lrows.slice(i, i + 4).map(([n, c, m]) => `${n} ${c}/${m}`.padEnd(34)).join('').trimEnd());

  // Anything newer in the schema than this layout: shown as it is rather than hidden.
  const more: string[] = [];
  for (const [k, v] of extras(canon, KNOWN_IMAGE)) more.push(`    ${k}: ${JSON.stringify(v)}`);
  for (const t of (canon.threads as J[]) ?? []) for (const [k, v] of extras(t, KNOWN_THREAD)) more.push(`    thread ${t.tid} ${k}: ${JSON.stringify(v)}`);
  for (const v of (canon.vmas as J[]) ?? []) for (const [k, val] of extras(v, KNOWN_VMA)) more.push(`    region ${hex(String(v.start))} ${k}: ${JSON.stringify(val)}`);
  if (more.length) out.push('', '  Other state', ...more);
  out.push('');
}

function jsonOf(target: RestartTarget, xs: Inspected[], canons: J[]): unknown {
  const m = target.manifest;
  return {
    jobDir: target.jobDir,
    genDir: target.genDir,
    generation: m
      ? { jobId: m.jobId, generation: m.generation, created: new Date(num(m.createdUnixMs)).toISOString(), createdUnixMs: m.createdUnixMs, cairnVersion: m.cairnVersion, formatVersion: m.formatVersion, intervalS: m.intervalS, coordPort: m.coordPort, argv: m.argv, hosts: m.hosts }
      : null,
    ok: xs.every((x) => x.problems.length === 0),
    processes: xs.map((x, i) => {
      const img = x.loaded.image;
      return {
        file: x.loaded.file,
        bytes: x.loaded.bytes,
        metaCrc32c: x.loaded.metaCrc,
        checks: x.checks,
        problems: x.problems,
        comm: img.comm,
        pid: img.nsPid,
        ppid: img.nsPpid,
        exe: img.exe,
        cwd: img.cwd,
        argv: img.argv,
        cairnVersion: img.cairnVersion,
        threads: img.threads.map((t) => threadStop(t, img.vmas)),
        memory: {
          regions: img.vmas.length,
          mappedBytes: img.vmas.reduce((n, v) => n + num(v.end) - num(v.start), 0),
          storedBytes: img.vmas.reduce((n, v) => n + storedBytes(v), 0),
          sharedFilesStoredBytes: ((canons[i]?.sharedFiles as J[]) ?? []).reduce((n: number, f: J) => n + ((f.runs as J[]) ?? []).reduce((m: number, r: J) => m + Number(r.len), 0), 0),
        },
        // The whole metadata, in protobuf's JSON form.
        image: canons[i],
      };
    }),
  };
}

export async function inspect(a: InspectArgs): Promise<number> {
  let target: RestartTarget;
  try {
    target = resolveRestartTarget(a.targets, ckptDirOf(a.ckptdir));
  } catch (e) {
    if (e instanceof UserError) throw new UserError(e.message, e.hint?.replace(/cairn restart/g, 'cairn inspect'), e.exitCode);
    throw e;
  }
  const xs = target.images.map((f) => check(readImage(f), target));
  if (a.verify) {
    const engine = loadEngine();
    try {
      for (const x of xs) {
        try {
          await engine.verifyPages(x.loaded.file, x.loaded.image as never);
          x.checks.pages = 'ok';
        } catch (e) {
          x.checks.pages = errorMessage(e);
          x.problems.push(errorMessage(e));
        }
      }
    } finally {
      engine.close();
    }
  }
  const canons = xs.map((x) => canonical(x.loaded.image));
  if (a.json) {
    process.stdout.write(JSON.stringify(jsonOf(target, xs, canons), null, 2) + '\n');
  } else {
    const out: string[] = [];
    printGeneration(target, out);
    xs.forEach((x, i) => printProcess(x, canons[i]!, out));
    process.stdout.write(out.join('\n'));
  }
  const problems = xs.flatMap((x) => x.problems);
  if (problems.length) {
    throw new UserError(problems[0]! + (problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''), 'restart from an older generation');
  }
  return 0;
}
