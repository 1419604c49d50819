/* A stream socketpair keeps what is queued in each direction, in order, its
 * buffer size and flags; a pair whose one end shut down its sending side
 * still delivers what was sent before, then end-of-stream. */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "facet.h"
#include "facet_fdutil.h"

#define BIG 100000

static int a[2], b[2];
static char big[BIG];

static int send_all(int fd, const void *p, size_t len) {
  return send(fd, p, len, MSG_NOSIGNAL) == (ssize_t)len;
}

static int queue_a(void) {
  return send_all(a[0], "hello", 5) && send_all(a[0], big, BIG) && send_all(a[1], "world", 5);
}

FACET_SETUP(dir) {
  (void)dir;
  facet_fill(big, BIG, 5);
  int sz = 300000;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) < 0 ||
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b) < 0 ||
      setsockopt(a[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz) < 0 || !queue_a() ||
      !send_all(b[0], "last words", 10) || shutdown(b[0], SHUT_WR) < 0)
    return facet_fail("setup: %s", strerror(errno)), 1;
  fcntl(a[1], F_SETFL, O_NONBLOCK);
  return 0;
}

/* Reads exactly len bytes that must be waiting, then finds nothing more. */
static int expect(int fd, const char *what, const void *want, size_t len) {
  static char buf[BIG + 16];
  size_t got = 0;
  while (got < len) {
    ssize_t n = recv(fd, buf + got, sizeof buf - got, MSG_DONTWAIT);
    if (n <= 0)
      return facet_fail("%s: %zu of %zu bytes, then %s", what, got, len,
                        n ? strerror(errno) : "EOF");
    got += (size_t)n;
  }
  if (got != len || memcmp(buf, want, len))
    return facet_fail("%s: %zu bytes that differ", what, got);
  if (recv(fd, buf, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
    return facet_fail("%s: more than expected", what);
  return 1;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!facet_fd_flags(a[0], "stream end 0", O_NONBLOCK | O_ACCMODE, O_RDWR, 0) ||
      !facet_fd_flags(a[1], "stream end 1", O_NONBLOCK, O_NONBLOCK, 0) ||
      !facet_fd_flags(b[1], "shut-down pair", O_NONBLOCK, O_NONBLOCK, 0))
    return 0;
  int sz = 0;
  socklen_t len = sizeof sz;
  getsockopt(a[0], SOL_SOCKET, SO_SNDBUF, &sz, &len);
  if (sz != 600000)
    return facet_fail("SO_SNDBUF %d, expected 600000", sz);
  int queued = 0;
  ioctl(a[1], FIONREAD, &queued);
  if (queued != BIG + 5)
    return facet_fail("%d bytes queued, expected %d", queued, BIG + 5);
  static char want[BIG + 5];
  memcpy(want, "hello", 5);
  memcpy(want + 5, big, BIG);
  if (!expect(a[1], "end 1", want, BIG + 5) || !expect(a[0], "end 0", "world", 5))
    return 0;
  if (!queue_a())
    return facet_fail("queue again: %s", strerror(errno));
  /* Peek at the shut-down pair: the bytes, then end-of-stream. */
  char buf[32];
  if (recv(b[1], buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT) != 10 || memcmp(buf, "last words", 10))
    return facet_fail("the shut-down pair lost its bytes");
  int off = 10;
  setsockopt(b[1], SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off);
  ssize_t n = recv(b[1], buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
  off = -1;
  setsockopt(b[1], SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off);
  if (n != 0)
    return facet_fail("after the bytes: %zd (%s), expected end-of-stream", n, strerror(errno));
  if (send(b[0], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != -1 || errno != EPIPE)
    return facet_fail("the shut-down end can send again");
  return facet_pass();
}
