/*
 * facet_unix_msgs.h: a message socketpair (SOCK_DGRAM or SOCK_SEQPACKET,
 * set by FACET_SOCK_TYPE) keeps its queued messages, in order, each with
 * its boundaries: a zero-length one, and one larger than 64 KiB included.
 */
#ifndef LMIG_FACET_UNIX_MSGS_H
#define LMIG_FACET_UNIX_MSGS_H

#include <sys/socket.h>

#include "facet.h"
#include "facet_fdutil.h"

#define LARGE 70000

static int sv[2];
static char large[LARGE];

static const struct msg {
  const char *data; /* NULL: the large pattern */
  size_t len;
} forth[] = {{"a", 1}, {"bb", 2}, {NULL, LARGE}, {"", 0}, {"end", 3}}, back[] = {{"back", 4}};

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

static int queue(int from, const struct msg *m, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (send(from, m[i].data ? m[i].data : large, m[i].len, MSG_NOSIGNAL) != (ssize_t)m[i].len)
      return 0;
  return 1;
}

FACET_SETUP(dir) {
  (void)dir;
  facet_fill(large, LARGE, 9);
  int sz = 1 << 20;
  if (socketpair(AF_UNIX, FACET_SOCK_TYPE | SOCK_CLOEXEC, 0, sv) < 0 ||
      setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz) < 0 ||
      !queue(sv[0], forth, COUNT(forth)) || !queue(sv[1], back, COUNT(back)))
    return facet_fail("setup: %s", strerror(errno)), 1;
  return 0;
}

static int expect(int fd, const char *what, const struct msg *m, size_t n) {
  static char buf[LARGE + 16];
  for (size_t i = 0; i < n; i++) {
    ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (got < 0)
      return facet_fail("%s: message %zu missing (%s)", what, i, strerror(errno));
    if ((size_t)got != m[i].len || memcmp(buf, m[i].data ? m[i].data : large, m[i].len))
      return facet_fail("%s: message %zu has %zd bytes, expected %zu", what, i, got, m[i].len);
  }
  if (recv(fd, buf, sizeof buf, MSG_DONTWAIT) != -1 || errno != EAGAIN)
    return facet_fail("%s: more messages than expected", what);
  return 1;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!facet_fd_flags(sv[0], "end 0", O_NONBLOCK, 0, 1) ||
      !facet_fd_flags(sv[1], "end 1", O_NONBLOCK, 0, 1))
    return 0;
  int type = 0;
  socklen_t len = sizeof type;
  getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len);
  if (type != FACET_SOCK_TYPE)
    return facet_fail("socket type %d", type);
  if (!expect(sv[1], "end 1", forth, COUNT(forth)) || !expect(sv[0], "end 0", back, COUNT(back)))
    return 0;
  if (!queue(sv[0], forth, COUNT(forth)) || !queue(sv[1], back, COUNT(back)))
    return facet_fail("queue again: %s", strerror(errno));
  return facet_pass();
}

#endif
