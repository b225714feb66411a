// Pseudo-terminals made inside a job: see ptys.h.
#include "ptys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <map>
#include <set>
#include <stdexcept>

#include "crc32c.h"
#include "process.h"

namespace cairn {

namespace {

constexpr unsigned kPtmxMajor = 5, kPtmxMinor = 2;
constexpr unsigned kPtsMajor = 136, kPtsMajors = 8;   // UNIX98_PTY_SLAVE_MAJOR, 256 minors each

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

void sleep_ms(int ms) {
  struct timespec ts = {0, long(ms) * 1000000};
  nanosleep(&ts, nullptr);
}

std::string pty_what(int fd, bool master, uint32_t index) {
  return "fd " + std::to_string(fd) + " (" + (master ? std::string("/dev/ptmx") : "/dev/pts/" + std::to_string(index)) +
         ", pseudo-terminal " + std::to_string(index) + ")";
}

// Everything the slave wrote that the master has not read. The slave's writes reach the
// master's line discipline through the kernel's flip buffers, pushed by a worker: the
// count is read until it has stayed 0 for a few milliseconds.
bool drain_master(int m, std::vector<uint8_t> &out, std::string &err) {
  for (int quiet = 0; quiet < 3;) {
    int n = 0;
    if (ioctl(m, FIONREAD, &n) < 0) {
      err = "FIONREAD: " + errno_str(errno);
      return false;
    }
    if (n <= 0) {
      quiet++;
      sleep_ms(1);
      continue;
    }
    quiet = 0;
    size_t base = out.size();
    out.resize(base + size_t(n));
    ssize_t got = read(m, out.data() + base, size_t(n));   // n bytes are there: no wait
    if (got < 0 && errno == EINTR) got = 0;
    if (got < 0) {
      out.resize(base);
      if (errno == EIO) break;   // the slave side is closed and nothing is left
      err = "reading the slave's output: " + errno_str(errno);
      return false;
    }
    out.resize(base + size_t(got));
  }
  return true;
}

// Writes bytes through the slave so that they wait for the master again, unchanged: output
// processing (OPOST: \n -> \r\n ...) was done when the program wrote them.
bool refill_through_slave(int s, const struct termios &t, const std::vector<uint8_t> &bytes, std::string &err) {
  if (bytes.empty()) return true;
  struct termios raw = t;
  raw.c_oflag &= ~tcflag_t(OPOST);
  if (tcsetattr(s, TCSANOW, &raw) < 0) {
    err = "setting its mode to refill it: " + errno_str(errno);
    return false;
  }
  size_t done = 0;
  for (int waited = 0; done < bytes.size() && waited < 2000;) {
    ssize_t n = write(s, bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += size_t(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) break;
    struct pollfd p = {s, POLLOUT, 0};
    poll(&p, 1, 10);
    waited += 10;
  }
  const int e = errno;
  tcsetattr(s, TCSANOW, &t);
  if (done < bytes.size()) {
    err = "putting back its " + std::to_string(bytes.size()) + " bytes: " + std::to_string(bytes.size() - done) +
          " did not fit (" + errno_str(e) + ")";
    return false;
  }
  return true;
}

std::vector<uint8_t> as_bytes(const void *p, size_t n) {
  const uint8_t *b = static_cast<const uint8_t *>(p);
  return std::vector<uint8_t>(b, b + n);
}

std::string who_img(const ProcessImage &img) { return "pid " + std::to_string(img.ns_pid) + " (" + img.comm + ")"; }

std::vector<uint8_t> read_runs(const std::vector<PageRun> &runs, const std::string &image_path, const std::string &at) {
  std::vector<uint8_t> out;
  if (runs.empty()) return out;
  Fd img(open(image_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (img.fd < 0) throw std::runtime_error(at + ": cannot open image " + image_path + ": " + errno_str(errno));
  for (const PageRun &r : runs) {
    size_t base = out.size();
    out.resize(base + r.len);
    for (uint64_t done = 0; done < r.len;) {
      ssize_t n = pread(img.fd, out.data() + base + done, r.len - done, off_t(r.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error(at + ": image " + image_path + " is cut short");
      done += uint64_t(n);
    }
    if (crc32c(0, out.data() + base, r.len) != r.crc32c) throw std::runtime_error(at + ": image " + image_path + " is corrupted (checksum)");
  }
  return out;
}

}  // namespace

bool dump_pty_fd(FdImage &f, const std::string &fdinfo, const struct stat &st) {
  if (!S_ISCHR(st.st_mode)) return false;
  const unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
  if (maj == kPtmxMajor && min == kPtmxMinor) {
    // Which pair this master is: "tty-index:\tN" in its fdinfo.
    size_t p = fdinfo.find("tty-index:");
    if (p == std::string::npos) return false;
    f.pty_index = uint32_t(strtoul(fdinfo.c_str() + p + 10, nullptr, 10));
    f.pty_master = true;
  } else if (maj >= kPtsMajor && maj < kPtsMajor + kPtsMajors) {
    f.pty_index = (maj - kPtsMajor) * 256 + min;
    f.pty_master = false;
  } else {
    return false;
  }
  f.kind = FD_PTY;
  return true;
}

uint64_t dump_ptys(pid_t pid, int image_fd, uint64_t off, ProcessImage &img) {
  std::set<uint32_t> done;
  int pidfd = -1;
  auto fail = [&](const std::string &what) {
    if (pidfd >= 0) close(pidfd);
    fail_pid(pid, what);
  };
  for (const FdImage &f : img.fds) {
    if (f.kind != FD_PTY || !f.pty_master || !done.insert(f.pty_index).second) continue;
    const std::string what = pty_what(f.fd, true, f.pty_index);
    if (pidfd < 0 && (pidfd = int(syscall(SYS_pidfd_open, pid, 0))) < 0) fail_pid(pid, "pidfd_open: " + errno_str(errno));
    Fd m(int(syscall(SYS_pidfd_getfd, pidfd, f.fd, 0)));
    if (m.fd < 0) fail(what + ": cannot get a handle on it (pidfd_getfd): " + errno_str(errno));
    PtyImage p;
    p.index = f.pty_index;
    int v = 0;
    if (ioctl(m.fd, TIOCGPTLCK, &v) < 0) fail(what + ": TIOCGPTLCK: " + errno_str(errno));
    p.locked = v != 0;
    v = 0;
    if (ioctl(m.fd, TIOCGPKT, &v) < 0) fail(what + ": TIOCGPKT: " + errno_str(errno));
    p.packet = v != 0;
    struct winsize ws;
    if (ioctl(m.fd, TIOCGWINSZ, &ws) < 0) fail(what + ": TIOCGWINSZ: " + errno_str(errno));
    p.winsize = as_bytes(&ws, sizeof ws);
    if (!p.locked) {
      // Our own descriptor of the slave (no path, so no controlling terminal is taken).
      Fd s(ioctl(m.fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
      if (s.fd < 0) fail(what + ": cannot open its slave (TIOCGPTPEER): " + errno_str(errno));
      // (the master's own line discipline is always raw: mode ioctls on it reach the slave)
      struct termios t;
      if (tcgetattr(s.fd, &t) < 0) fail(what + ": cannot read its mode: " + errno_str(errno));
      p.termios = as_bytes(&t, sizeof t);
      int unread = 0;
      if (ioctl(s.fd, FIONREAD, &unread) < 0) fail(what + ": FIONREAD: " + errno_str(errno));
      if (unread > 0)
        fail(what + ": " + std::to_string(unread) + " bytes written to the terminal are not read by the program yet: not supported yet");
      std::vector<uint8_t> bytes;
      std::string err;
      if (!drain_master(m.fd, bytes, err)) fail(what + ": " + err);
      if (!bytes.empty()) {
        // Put back first: whatever happens next, the job keeps its output.
        if (!refill_through_slave(s.fd, t, bytes, err)) fail(what + ": " + err + " (the job has lost output in flight)");
        if (p.packet) fail(what + ": packet mode (TIOCPKT) with output in flight is not supported yet");
        for (size_t w = 0; w < bytes.size();) {
          ssize_t n = pwrite(image_fd, bytes.data() + w, bytes.size() - w, off_t(off + w));
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) fail("cannot write terminal output to the image: " + errno_str(n < 0 ? errno : EIO));
          w += size_t(n);
        }
        p.runs.push_back(PageRun{0, uint64_t(bytes.size()), off, crc32c(0, bytes.data(), bytes.size())});
        p.bytes = bytes.size();
        off += bytes.size();
      }
    }
    img.ptys.push_back(std::move(p));
  }
  if (pidfd >= 0) close(pidfd);

  // A process whose controlling terminal is a pair it holds (a shell under `script`): its
  // session would come back without it.
  std::string stat;
  if (read_text("/proc/" + std::to_string(pid) + "/stat", stat)) {
    size_t rp = stat.rfind(')');
    int ppid = 0, pgrp = 0, sid = 0, tty_nr = 0;
    char state = 0;
    if (rp != std::string::npos && sscanf(stat.c_str() + rp + 1, " %c %d %d %d %d", &state, &ppid, &pgrp, &sid, &tty_nr) == 5 &&
        tty_nr) {
      const unsigned maj = major(dev_t(tty_nr)), min = minor(dev_t(tty_nr));
      for (const FdImage &f : img.fds)
        if (f.kind == FD_PTY && maj >= kPtsMajor && maj < kPtsMajor + kPtsMajors && f.pty_index == (maj - kPtsMajor) * 256 + min)
          fail_pid(pid, "its controlling terminal is /dev/pts/" + std::to_string(f.pty_index) +
                            ", a pseudo-terminal made in the job: not supported yet");
    }
  }
  return off;
}

void check_ptys(const std::vector<const ProcessImage *> &procs) {
  std::set<uint32_t> saved;
  for (const ProcessImage *p : procs)
    for (const PtyImage &t : p->ptys) saved.insert(t.index);
  for (const ProcessImage *p : procs)
    for (const FdImage &f : p->fds)
      if (f.kind == FD_PTY && !saved.count(f.pty_index))
        throw std::runtime_error(who_img(*p) + ": cannot restore: " + pty_what(f.fd, f.pty_master, f.pty_index) +
                                 ": a terminal whose master is outside the job (and is not the launcher's) is not supported");
}

void make_ptys(const std::vector<const ProcessImage *> &procs, const std::vector<std::string> &image_paths, JobObjects &out) {
  check_ptys(procs);
  for (size_t i0 = 0; i0 < procs.size(); i0++)
    for (const PtyImage &p : procs[i0]->ptys) {
      const std::string at = who_img(*procs[i0]) + ": cannot restore pseudo-terminal " + std::to_string(p.index);
      Fd m(open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
      if (m.fd < 0) throw std::runtime_error(at + ": /dev/ptmx: " + errno_str(errno));
      int zero = 0, one = 1;
      if (ioctl(m.fd, TIOCSPTLCK, &zero) < 0) throw std::runtime_error(at + ": unlockpt: " + errno_str(errno));
      Fd s(ioctl(m.fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
      if (s.fd < 0) throw std::runtime_error(at + ": cannot open its slave: " + errno_str(errno));
      if (p.winsize.size() == sizeof(struct winsize) && ioctl(m.fd, TIOCSWINSZ, p.winsize.data()) < 0)
        throw std::runtime_error(at + ": TIOCSWINSZ: " + errno_str(errno));
      if (!p.termios.empty()) {
        if (p.termios.size() != sizeof(struct termios)) throw std::runtime_error(at + ": its saved mode has the wrong size");
        struct termios t;
        memcpy(&t, p.termios.data(), sizeof t);
        std::string err;
        const int fl = fcntl(s.fd, F_GETFL);
        fcntl(s.fd, F_SETFL, fl | O_NONBLOCK);
        if (!refill_through_slave(s.fd, t, read_runs(p.runs, image_paths[i0], at), err)) throw std::runtime_error(at + ": " + err);
        fcntl(s.fd, F_SETFL, fl);
        if (tcsetattr(s.fd, TCSANOW, &t) < 0) throw std::runtime_error(at + ": setting its mode: " + errno_str(errno));
      }
      if (p.packet && ioctl(m.fd, TIOCPKT, &one) < 0) throw std::runtime_error(at + ": TIOCPKT: " + errno_str(errno));

      // Each end to whoever held it: the master (one open file description per pair), the
      // slave once per open file description (the first is ours, others opened through it).
      int idx_m = -1, idx_s = -1;
      std::map<uint32_t, int> slave_of_ofd;
      for (size_t i = 0; i < procs.size(); i++)
        for (const FdImage &f : procs[i]->fds) {
          if (f.kind != FD_PTY || f.pty_index != p.index) continue;
          int idx;
          if (f.pty_master) {
            if (idx_m < 0) {
              fcntl(m.fd, F_SETFL, int(f.flags & (O_NONBLOCK | O_APPEND)));
              out.fds.push_back(m.release());
              idx_m = int(out.fds.size()) - 1;
            }
            idx = idx_m;
          } else {
            auto it = f.ofd ? slave_of_ofd.find(f.ofd) : slave_of_ofd.end();
            if (it != slave_of_ofd.end()) {
              idx = it->second;
            } else {
              int nf;
              if (idx_s < 0) {
                nf = s.release();
              } else {
                const std::string via = "/proc/self/fd/" + std::to_string(out.fds[size_t(idx_s)]);
                nf = open(via.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (nf < 0) throw std::runtime_error(at + ": opening its slave again: " + errno_str(errno));
              }
              fcntl(nf, F_SETFL, int(f.flags & (O_NONBLOCK | O_APPEND)));
              out.fds.push_back(nf);
              idx = int(out.fds.size()) - 1;
              if (idx_s < 0) idx_s = idx;
              if (f.ofd) slave_of_ofd[f.ofd] = idx;
            }
          }
          out.by_fd[i][f.fd] = idx;
        }
      if (p.locked && idx_m >= 0 && ioctl(out.fds[size_t(idx_m)], TIOCSPTLCK, &one) < 0)
        throw std::runtime_error(at + ": locking it again: " + errno_str(errno));
    }
}

}  // namespace cairn
