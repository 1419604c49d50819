/* An epoll instance keeps its interest list, re-pointed at the restored
 * fds: level-triggered entries report the same readiness with the same
 * data, a one-shot entry that fired stays disabled (and can be re-armed),
 * an edge-triggered entry is still there. */
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "facet.h"
#include "facet_fdutil.h"

static int ep, efd, etfd, p[2], q[2], s[2];
static const uint64_t kEfdData = 0xdeadbeefcafef00dull;

static int add(int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

FACET_SETUP(dir) {
  (void)dir;
  ep = epoll_create1(EPOLL_CLOEXEC);
  efd = eventfd(1, EFD_NONBLOCK);
  etfd = eventfd(1, EFD_NONBLOCK);
  if (ep < 0 || efd < 0 || etfd < 0 || pipe(p) < 0 || pipe(q) < 0 ||
      socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0 || write(p[1], "x", 1) != 1 ||
      write(s[1], "y", 1) != 1)
    return facet_fail("setup: %s", strerror(errno)), 1;
  if (add(efd, EPOLLIN, kEfdData) || add(p[0], EPOLLIN, 7) || add(p[1], EPOLLOUT, 8) ||
      add(q[0], EPOLLIN, 9) || add(s[0], EPOLLIN | EPOLLONESHOT, 10) ||
      add(etfd, EPOLLIN | EPOLLET, 11))
    return facet_fail("epoll_ctl: %s", strerror(errno)), 1;
  struct epoll_event evs[16];
  if (epoll_wait(ep, evs, 16, 0) < 0) /* fires the one-shot and the edge */
    return facet_fail("epoll_wait: %s", strerror(errno)), 1;
  return 0;
}

/* Whether fdinfo lists tfd with exactly these events. */
static int listed(int tfd, uint32_t events) {
  char path[64], buf[8192];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", ep);
  int f = open(path, O_RDONLY);
  ssize_t n = f < 0 ? -1 : read(f, buf, sizeof buf - 1);
  close(f);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  for (char *l = strstr(buf, "tfd:"); l; l = strstr(l + 1, "tfd:")) {
    int fd;
    unsigned ev;
    if (sscanf(l, "tfd: %d events: %x", &fd, &ev) == 2 && fd == tfd)
      return ev == events;
  }
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!facet_fd_flags(ep, "epoll", O_ACCMODE, O_RDWR, 1))
    return 0;
  const uint32_t always = EPOLLERR | EPOLLHUP; /* the kernel adds them */
  struct {
    int fd;
    uint32_t events;
  } want[] = {{efd, EPOLLIN | always},         {p[0], EPOLLIN | always},
              {p[1], EPOLLOUT | always},       {q[0], EPOLLIN | always},
              {s[0], EPOLLONESHOT},            {etfd, EPOLLIN | EPOLLET | always}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    if (!listed(want[i].fd, want[i].events))
      return facet_fail("fdinfo does not list fd %d with events 0x%x", want[i].fd,
                        want[i].events);

  struct epoll_event evs[16];
  int n = epoll_wait(ep, evs, 16, 0);
  int seen_efd = 0, seen_p0 = 0, seen_p1 = 0;
  for (int i = 0; i < n; i++) {
    uint64_t d = evs[i].data.u64;
    if (d == kEfdData && evs[i].events == EPOLLIN)
      seen_efd++;
    else if (d == 7 && evs[i].events == EPOLLIN)
      seen_p0++;
    else if (d == 8 && evs[i].events == EPOLLOUT)
      seen_p1++;
    else if (d == 11 && evs[i].events == EPOLLIN)
      ; /* an edge may be reported again after a move: allowed */
    else
      return facet_fail("unexpected event 0x%x with data 0x%llx", evs[i].events,
                        (unsigned long long)d);
  }
  if (seen_efd != 1 || seen_p0 != 1 || seen_p1 != 1)
    return facet_fail("epoll_wait reported eventfd %d, pipe read end %d, write end %d times "
                      "(%d events)",
                      seen_efd, seen_p0, seen_p1, n);
  /* The one-shot entry exists, disabled: re-arm it, see it fire once. */
  struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 10};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, s[0], &ev) < 0)
    return facet_fail("re-arming the one-shot entry: %s", strerror(errno));
  n = epoll_wait(ep, evs, 16, 0);
  int fired = 0;
  for (int i = 0; i < n; i++)
    fired += evs[i].data.u64 == 10;
  if (fired != 1)
    return facet_fail("the re-armed one-shot entry fired %d times", fired);
  return facet_pass();
}
