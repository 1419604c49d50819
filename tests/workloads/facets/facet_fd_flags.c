/* Status flags (access mode, O_APPEND, O_NONBLOCK, O_NOATIME) and
 * close-on-exec stay as they were on every kind of fd that moves, also
 * where two fds share one open file but differ in close-on-exec. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include "facet.h"
#include "facet_fdutil.h"

#define MASK (O_ACCMODE | O_APPEND | O_NONBLOCK | O_NOATIME)

static struct fdcase {
  const char *what;
  int fd;
  int flags;
  int cloexec;
} cases[16];
static int ncases;

static void add(const char *what, int fd, int flags, int cloexec) {
  cases[ncases++] = (struct fdcase){what, fd, flags, cloexec};
}

FACET_SETUP(dir) {
  (void)dir;
  int efd = eventfd(7, EFD_NONBLOCK);
  add("eventfd", efd, O_RDWR | O_NONBLOCK, 0);
  add("eventfd dup", fcntl(efd, F_DUPFD_CLOEXEC, 100), O_RDWR | O_NONBLOCK, 1);
  add("timerfd", timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC), O_RDWR, 1);
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGURG);
  add("signalfd", signalfd(-1, &m, SFD_NONBLOCK), O_RDWR | O_NONBLOCK, 0);
  add("epoll", epoll_create1(0), O_RDWR, 0);
  add("inotify", inotify_init1(IN_CLOEXEC), O_RDONLY, 1);
  int mfd = memfd_create("flags", 0);
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", mfd);
  add("memfd", mfd, O_RDWR, 0);
  add("memfd append open", open(path, O_WRONLY | O_APPEND | O_CLOEXEC), O_WRONLY | O_APPEND, 1);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
    return facet_fail("socketpair: %s", strerror(errno)), 1;
  add("socket", sv[0], O_RDWR | O_NONBLOCK, 1);
  add("socket peer", sv[1], O_RDWR | O_NONBLOCK, 1);
  if (mkfifo("fifo", 0600) < 0)
    return facet_fail("mkfifo: %s", strerror(errno)), 1;
  add("FIFO", open("fifo", O_RDWR | O_APPEND | O_NONBLOCK), O_RDWR | O_APPEND | O_NONBLOCK, 0);
  int del = open("deleted", O_RDWR | O_CREAT | O_EXCL, 0600);
  add("deleted file", open("deleted", O_RDONLY | O_NOATIME | O_CLOEXEC), O_RDONLY | O_NOATIME, 1);
  unlink("deleted");
  close(del);
  for (int i = 0; i < ncases; i++)
    if (cases[i].fd < 0)
      return facet_fail("%s: %s", cases[i].what, strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  for (int i = 0; i < ncases; i++)
    if (!facet_fd_flags(cases[i].fd, cases[i].what, MASK, cases[i].flags, cases[i].cloexec))
      return 0;
  return facet_pass();
}
