/* An epoll instance watching another one, and a file watched under two fd
 * numbers (a dup): each entry comes back with its own data. */
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "facet.h"
#include "facet_fdutil.h"

static int outer, inner, efd, efd_dup, inner_efd;

static int add(int ep, int fd, uint64_t data) {
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = data};
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

FACET_SETUP(dir) {
  (void)dir;
  outer = epoll_create1(0);
  inner = epoll_create1(EPOLL_CLOEXEC);
  efd = eventfd(1, 0);
  efd_dup = dup(efd);
  inner_efd = eventfd(2, EFD_NONBLOCK);
  if (outer < 0 || inner < 0 || efd < 0 || efd_dup < 0 || inner_efd < 0 ||
      add(inner, inner_efd, 4) || add(outer, inner, 1) || add(outer, efd, 2) ||
      add(outer, efd_dup, 3))
    return facet_fail("setup: %s", strerror(errno)), 1;
  return 0;
}

static int wait_set(int ep, unsigned *mask) {
  struct epoll_event evs[8];
  int n = epoll_wait(ep, evs, 8, 0);
  *mask = 0;
  for (int i = 0; i < n; i++) {
    if (evs[i].events != EPOLLIN || evs[i].data.u64 > 31)
      return facet_fail("unexpected event 0x%x data %llu", evs[i].events,
                        (unsigned long long)evs[i].data.u64);
    *mask |= 1u << evs[i].data.u64;
  }
  return 1;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!facet_fd_flags(outer, "outer epoll", O_ACCMODE, O_RDWR, 0) ||
      !facet_fd_flags(inner, "inner epoll", O_ACCMODE, O_RDWR, 1))
    return 0;
  unsigned got;
  if (!wait_set(outer, &got))
    return 0;
  if (got != ((1u << 1) | (1u << 2) | (1u << 3)))
    return facet_fail("outer epoll reported data set 0x%x, expected 0xe", got);
  if (!wait_set(inner, &got))
    return 0;
  if (got != (1u << 4))
    return facet_fail("inner epoll reported data set 0x%x, expected 0x10", got);
  uint64_t v = 0;
  if (read(inner_efd, &v, 8) != 8 || v != 2)
    return facet_fail("inner eventfd holds %llu", (unsigned long long)v);
  if (!wait_set(outer, &got) || got != ((1u << 2) | (1u << 3)))
    return facet_fail("with the inner eventfd drained, outer reported 0x%x", got);
  v = 2;
  if (write(inner_efd, &v, 8) != 8)
    return facet_fail("write back: %s", strerror(errno));
  return facet_pass();
}
