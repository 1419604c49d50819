#include "engine/base/clock.hpp"
#include "engine/restore/fd_create.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace lmig::child {
namespace {

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

constexpr uint32_t kSendShutdown = 2, kRcvShutdown = 1;

int fail() { return -errno; }

// Closes fd and keeps errno (for the error paths below).
int close_fail(int fd) {
  int e = errno;
  ::close(fd);
  return -e;
}

// Writes all of buf (a socket or pipe set non-blocking: never waits).
int write_all(int fd, const uint8_t *buf, size_t len, bool socket) {
  size_t off = 0;
  while (off < len) {
    ssize_t w = socket ? ::send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT)
                       : ::write(fd, buf + off, len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return w < 0 ? fail() : -EIO;
    off += static_cast<size_t>(w);
  }
  return 0;
}

int set_sockopt(int fd, int name, int value) {
  return ::setsockopt(fd, SOL_SOCKET, name, &value, sizeof value) < 0 ? fail() : 0;
}

// Puts back what waited at one end: its peer sends it again, in order, one
// send per message.
int requeue(int sender, const UnixSocketImage &at_receiver) {
  uint64_t total = 0;
  for (const auto &m : at_receiver.queue)
    total += m.size() + 1024; // and the per-message overhead
  if (total == 0)
    return 0;
  // Room for all of it at once in the sender's buffer (set back afterwards);
  // the original got there over time, as the process read in between.
  uint64_t room = total * 2 + (1u << 20);
  if (int r = set_sockopt(sender, SO_SNDBUFFORCE, room > (1u << 30) ? (1 << 30) : static_cast<int>(room)); r < 0)
    return r;
  for (const auto &m : at_receiver.queue) {
    if (at_receiver.type == SOCK_STREAM) {
      if (int r = write_all(sender, m.data(), m.size(), true); r < 0)
        return r;
    } else if (::send(sender, m.data(), m.size(), MSG_NOSIGNAL | MSG_DONTWAIT) !=
               static_cast<ssize_t>(m.size())) {
      return errno ? fail() : -EIO;
    }
  }
  return 0;
}

// /proc/self/fd/N, formatted without the C library's help.
void proc_fd_path(int fd, char (&out)[40]) {
  static const char prefix[] = "/proc/self/fd/";
  std::memcpy(out, prefix, sizeof prefix);
  char digits[12];
  int n = 0;
  unsigned v = static_cast<unsigned>(fd);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  size_t at = sizeof prefix - 1;
  while (n)
    out[at++] = digits[--n];
  out[at] = '\0';
}



// Reads and drops every queued inotify event.
void drain(int fd) {
  alignas(inotify_event) char buf[4096];
  while (::read(fd, buf, sizeof buf) > 0) {
  }
}

} // namespace

int lift(int fd, int floor) {
  if (fd < 0)
    return fd;
  int hi = ::fcntl(fd, F_DUPFD_CLOEXEC, floor);
  int e = errno;
  ::close(fd);
  return hi < 0 ? -e : hi;
}

int make_pipe(PipePlan &p, int floor) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0)
    return fail();
  p.fds[0] = lift(fds[0], floor);
  p.fds[1] = lift(fds[1], floor);
  if (p.fds[0] < 0 || p.fds[1] < 0)
    return p.fds[0] < 0 ? p.fds[0] : p.fds[1];
  if (p.capacity && ::fcntl(p.fds[1], F_SETPIPE_SZ, static_cast<int>(p.capacity)) < 0)
    return fail();
  return write_all(p.fds[1], p.data->data(), p.data->size(), false);
}

int hold_fifo(PipePlan &p, int floor) {
  // O_RDWR opens a FIFO without waiting for a peer; while it is open, its
  // ends open without waiting too, and its buffer lives.
  int fd = lift(::open(p.fifo_path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC), floor);
  if (fd < 0)
    return fd == -1 ? fail() : fd;
  p.fds[0] = fd;
  p.fds[1] = -1;
  if (p.capacity && ::fcntl(fd, F_GETPIPE_SZ) != static_cast<int>(p.capacity) &&
      ::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(p.capacity)) < 0)
    return fail();
  if (!p.inject)
    return 0;
  return write_all(fd, p.data->data(), p.data->size(), false);
}

// Shared anonymous memory is an unnamed shmem inode as large as the mapping
// that made it: make one the same way, fill it, and keep an fd of it (a
// new open through /proc/self/map_files) for the restorer to map.
static int make_shared_anon(ContentsPlan &c, int floor) {
  const ContentsImage &im = *c.image;
  const size_t len = (im.size + 4095) & ~size_t{4095};
  if (len == 0)
    return -EINVAL;
  void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return fail();
  for (const auto &e : im.extents)
    std::memcpy(static_cast<char *>(p) + e.offset, e.data.data(), e.data.size());
  char path[80];
  snprintf(path, sizeof path, "/proc/self/map_files/%lx-%lx", reinterpret_cast<unsigned long>(p),
           reinterpret_cast<unsigned long>(p) + len);
  int fd = ::open(path, O_RDWR | O_CLOEXEC);
  int err = errno;
  ::munmap(p, len);
  if (fd < 0)
    return -err;
  fd = lift(fd, floor);
  if (fd < 0)
    return fd;
  c.fd = fd;
  return 0;
}

int make_contents(ContentsPlan &c, int floor) {
  if (c.anon_shmem)
    return make_shared_anon(c, floor);
  const ContentsImage &im = *c.image;
  int fd;
  if (c.memfd) {
    // MFD_EXEC: as memfds were made before noexec ones existed (the mode
    // below says whether it is executable); older kernels do not know it.
    fd = ::memfd_create(c.name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL)
      fd = ::memfd_create(c.name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0 && errno == EACCES) // vm.memfd_noexec forbids executable ones
      fd = ::memfd_create(c.name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
  } else {
    fd = ::open(c.tmpfile_dir.c_str(),
                O_TMPFILE | O_RDWR | O_CLOEXEC | (c.linkable ? 0 : O_EXCL), 0600);
  }
  if (fd < 0)
    return fail();
  fd = lift(fd, floor);
  if (fd < 0)
    return fd;
  c.fd = fd;
  if (::fchown(fd, im.uid, im.gid) < 0)
    return fail();
  for (const auto &e : im.extents) {
    size_t off = 0;
    while (off < e.data.size()) {
      ssize_t w = ::pwrite(fd, e.data.data() + off, e.data.size() - off,
                           static_cast<off_t>(e.offset + off));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return w < 0 ? fail() : -EIO;
      off += static_cast<size_t>(w);
    }
  }
  if (::ftruncate(fd, static_cast<off_t>(im.size)) < 0)
    return fail();
  // After fchown, which clears set-id bits; before the seals, which may
  // forbid changing the exec bits.
  if (::fchmod(fd, im.mode) < 0)
    return fail();
  // Last of what changes the inode: the writes above moved its times.
  const timespec times[2] = {{im.atime_sec, im.atime_nsec}, {im.mtime_sec, im.mtime_nsec}};
  if (::futimens(fd, times) < 0)
    return fail();
  if (c.memfd && im.seals && ::fcntl(fd, F_ADD_SEALS, static_cast<int>(im.seals)) < 0)
    return fail();
  return 0;
}

int make_socket_pair(SocketPairPlan &s, int floor) {
  int sv[2];
  if (::socketpair(AF_UNIX, static_cast<int>(s.type) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
    return fail();
  s.fds[0] = lift(sv[0], floor);
  s.fds[1] = lift(sv[1], floor);
  if (s.fds[0] < 0 || s.fds[1] < 0)
    return s.fds[0] < 0 ? s.fds[0] : s.fds[1];
  for (int end = 0; end < 2; end++)
    if (int r = requeue(s.fds[1 - end], *s.ends[end]); r < 0)
      return r;
  for (int end = 0; end < 2; end++) {
    const UnixSocketImage &u = *s.ends[end];
    // getsockopt reports twice what setsockopt is given.
    if (int r = set_sockopt(s.fds[end], SO_SNDBUFFORCE, static_cast<int>(u.sndbuf / 2)); r < 0)
      return r;
    if (int r = set_sockopt(s.fds[end], SO_RCVBUFFORCE, static_cast<int>(u.rcvbuf / 2)); r < 0)
      return r;
    if (u.peek_off >= 0)
      if (int r = set_sockopt(s.fds[end], SO_PEEK_OFF, u.peek_off); r < 0)
        return r;
  }
  for (int end = 0; end < 2; end++) {
    const uint32_t sd = s.ends[end]->shutdown;
    int how = -1;
    if (s.type == SOCK_DGRAM) {
      // Each end's own: a datagram socket's shutdown does not reach its peer.
      if (sd == (kRcvShutdown | kSendShutdown))
        how = SHUT_RDWR;
      else if (sd == kRcvShutdown)
        how = SHUT_RD;
      else if (sd == kSendShutdown)
        how = SHUT_WR;
    } else if (sd & kSendShutdown) {
      // A connected pair's shutdown marks the peer too: one end that stopped
      // sending is a peer that stops receiving.
      how = SHUT_WR;
    }
    if (how >= 0 && ::shutdown(s.fds[end], how) < 0)
      return fail();
  }
  return 0;
}

int reopen(int fd, uint32_t flags, int floor) {
  char path[40];
  proc_fd_path(fd, path);
  int f = static_cast<int>(flags) & ~(O_CREAT | O_EXCL | O_TRUNC | O_DIRECTORY | O_TMPFILE);
  int r = ::open(path, f | O_CLOEXEC | O_NOCTTY);
  return r < 0 ? fail() : lift(r, floor);
}

int open_fifo(const char *path, uint32_t flags, int floor) {
  int f = static_cast<int>(flags) & ~(O_CREAT | O_EXCL | O_TRUNC);
  int fd = ::open(path, f | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return fail();
  if (::fcntl(fd, F_SETFL, static_cast<int>(flags)) < 0)
    return close_fail(fd);
  return lift(fd, floor);
}

int make_eventfd(const EventfdImage &e, int floor) {
  // eventfd() takes a 32-bit start value: the count is written instead.
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | (e.semaphore ? EFD_SEMAPHORE : 0));
  if (fd < 0)
    return fail();
  if (e.count && ::write(fd, &e.count, sizeof e.count) != sizeof e.count)
    return close_fail(fd);
  return lift(fd, floor);
}

int make_signalfd(const SignalfdImage &s, int floor) {
  sigset_t mask;
  sigemptyset(&mask);
  std::memcpy(&mask, &s.mask, sizeof s.mask);
  int fd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  return fd < 0 ? fail() : lift(fd, floor);
}

int make_timerfd(const TimerfdImage &t, int floor) {
  int fd = ::timerfd_create(t.clockid, TFD_CLOEXEC);
  if (fd < 0)
    return fail();
  // What is left of the deadline after the (wall-clock) time the move took,
  // and the expirations the process would have seen meanwhile.
  uint64_t value = t.value_ns, ticks = t.ticks;
  const uint64_t now_real = now_ns(CLOCK_REALTIME);
  const uint64_t elapsed = now_real > t.captured_ns ? now_real - t.captured_ns : 0;
  if (value) {
    if (elapsed < value) {
      value -= elapsed;
    } else if (t.interval_ns == 0) {
      value = 0;
      ticks++;
    } else {
      uint64_t over = elapsed - value;
      ticks += 1 + over / t.interval_ns;
      value = t.interval_ns - over % t.interval_ns;
    }
  }
  if (value) {
    itimerspec its{to_timespec(t.interval_ns), to_timespec(value)};
    if (t.settime_flags & TFD_TIMER_ABSTIME) {
      clockid_t base = t.clockid == CLOCK_REALTIME_ALARM   ? CLOCK_REALTIME
                       : t.clockid == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME
                                                           : t.clockid;
      its.it_value = to_timespec(now_ns(base) + value);
    }
    if (::timerfd_settime(fd, static_cast<int>(t.settime_flags), &its, nullptr) < 0)
      return close_fail(fd);
  }
  // After settime, which clears the count. (An expiration in the
  // microseconds between the two would be overwritten.)
  if (ticks && ::ioctl(fd, TFD_IOC_SET_TICKS, &ticks) < 0)
    return close_fail(fd);
  return lift(fd, floor);
}

int make_epoll(int floor) {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  return fd < 0 ? fail() : lift(fd, floor);
}

int add_epoll_watches(int epfd, const EpollImage &e) {
  // A one-shot entry that fired is kept disabled: no event bits, only its
  // flags. No call makes one so (adding and modifying always arm EPOLLERR
  // and EPOLLHUP): it is added armed for whatever its file is ready for and
  // collected once, as the process did. Only a file ready for nothing at
  // all leaves it armed, for EPOLLERR and EPOLLHUP only. Done first, while
  // nothing else in this instance can be collected with it.
  constexpr uint32_t kFlags = EPOLLONESHOT | EPOLLET | EPOLLWAKEUP | EPOLLEXCLUSIVE;
  constexpr uint32_t kAnyReady = EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDNORM | EPOLLWRNORM;
  for (const auto &w : e.watches) {
    if (!(w.events & EPOLLONESHOT) || (w.events & ~kFlags))
      continue;
    epoll_event ev{};
    ev.events = w.events | kAnyReady;
    ev.data.u64 = w.data;
    if (::epoll_ctl(epfd, EPOLL_CTL_ADD, w.fd, &ev) < 0)
      return fail();
    epoll_event got[64];
    int n = ::epoll_wait(epfd, got, 64, 0);
    bool fired = false;
    for (int i = 0; i < n; i++)
      fired = fired || got[i].data.u64 == w.data;
    if (!fired) {
      ev.events = w.events;
      if (::epoll_ctl(epfd, EPOLL_CTL_MOD, w.fd, &ev) < 0)
        return fail();
    }
  }
  for (const auto &w : e.watches) {
    if ((w.events & EPOLLONESHOT) && !(w.events & ~kFlags))
      continue;
    epoll_event ev{};
    ev.events = w.events;
    ev.data.u64 = w.data;
    if (::epoll_ctl(epfd, EPOLL_CTL_ADD, w.fd, &ev) < 0)
      return fail();
  }
  return 0;
}

int make_inotify(const InotifyImage &n, int floor) {
  int fd = lift(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC), floor);
  if (fd < 0)
    return fd == -1 ? fail() : fd;
  // Watch descriptors come in increasing order: each watch is added, and
  // removed again until it gets the number it had. The removals queue
  // IN_IGNORED events, read away below (the source had no unread events).
  int32_t last = 0;
  unsigned removed = 0;
  for (const auto &w : n.watches) {
    for (;;) {
      int wd = ::inotify_add_watch(fd, w.path.c_str(), w.mask | IN_DONT_FOLLOW);
      if (wd < 0)
        return close_fail(fd);
      if (wd == w.wd)
        break;
      if (wd <= last || wd > w.wd) { // an inode watched twice here, or numbers gone past
        ::close(fd);
        return -EEXIST;
      }
      ::inotify_rm_watch(fd, wd);
      if (++removed % 1024 == 0)
        drain(fd);
    }
    last = w.wd;
  }
  drain(fd);
  return fd;
}

} // namespace lmig::child
