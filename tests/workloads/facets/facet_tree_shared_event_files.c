/* A timerfd, a signalfd and an inotify instance that a parent and its
 * child share stay one each: the timer keeps expiring for both, the child
 * takes its own signal through the shared signalfd, and an inotify event
 * the child reads (a file the parent made) is gone from the parent's view
 * of the same queue. */
#include "facet.h"

#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

static pid_t child;
static int tfd, sfd, ifd, sock;
static char dirpath[4096];

/* The child, asked with a byte: takes a SIGUSR2 it raises through the
 * signalfd, reads one inotify event, and answers with its name. */
static void child_main(int csock) {
  for (;;) {
    char c;
    if (read(csock, &c, 1) != 1)
      _exit(0);
    char answer[300] = "";
    raise(SIGUSR2); /* blocked: it waits in the signalfd */
    struct signalfd_siginfo si;
    if (read(sfd, &si, sizeof si) != sizeof si || si.ssi_signo != SIGUSR2 ||
        si.ssi_pid != (uint32_t)getpid())
      snprintf(answer, sizeof answer, "!signalfd");
    char ev[sizeof(struct inotify_event) + 256];
    ssize_t n = answer[0] ? 0 : read(ifd, ev, sizeof ev);
    if (!answer[0] && n < (ssize_t)sizeof(struct inotify_event))
      snprintf(answer, sizeof answer, "!inotify");
    if (!answer[0])
      snprintf(answer, sizeof answer, "%s", ((struct inotify_event *)ev)->name);
    if (write(csock, answer, strlen(answer) + 1) < 0)
      _exit(0);
  }
}

FACET_SETUP(dir) {
  /* A directory of its own: nothing else creates files there. */
  snprintf(dirpath, sizeof dirpath, "%s/watched", dir);
  if (mkdir(dirpath, 0700) < 0 && errno != EEXIST)
    return facet_fail("mkdir %s: %s", dirpath, strerror(errno)), 1;
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  sigprocmask(SIG_BLOCK, &usr2, NULL);
  tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  sfd = signalfd(-1, &usr2, SFD_CLOEXEC);
  ifd = inotify_init1(IN_CLOEXEC);
  if (tfd < 0 || sfd < 0 || ifd < 0)
    return facet_fail("setup: %s", strerror(errno)), 1;
  struct itimerspec every = {{0, 10 * 1000000}, {0, 10 * 1000000}};
  if (timerfd_settime(tfd, 0, &every, NULL) < 0 || inotify_add_watch(ifd, dirpath, IN_CREATE) < 0)
    return facet_fail("setup: %s", strerror(errno)), 1;
  child = facet_fork_linked(&sock, child_main);
  if (child < 0)
    return facet_fail("fork: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  /* The shared timer keeps expiring (10 ms period). */
  uint64_t exp = 0;
  for (int i = 0; i < 100 && read(tfd, &exp, sizeof exp) != sizeof exp; i++)
    usleep(5000);
  if (exp == 0)
    return facet_fail("the shared timerfd did not expire in 0.5 s");
  char name[64], path[4200];
  snprintf(name, sizeof name, "created-%u", seq);
  snprintf(path, sizeof path, "%s/%s", dirpath, name);
  int f = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (f < 0)
    return facet_fail("create %s: %s", path, strerror(errno));
  close(f);
  char c = 1, answer[300] = "";
  if (write(sock, &c, 1) != 1)
    return facet_fail("socket to the child: %s", strerror(errno));
  ssize_t n = read(sock, answer, sizeof answer - 1);
  if (n <= 0)
    return facet_fail("the child did not answer");
  answer[n] = 0;
  if (strcmp(answer, name))
    return facet_fail("the child read '%s' from the shared inotify/signalfd, expected '%s'",
                      answer, name);
  /* The child took the event: the shared queue is empty for the parent. */
  char ev[sizeof(struct inotify_event) + 256];
  int fl = fcntl(ifd, F_GETFL);
  fcntl(ifd, F_SETFL, fl | O_NONBLOCK);
  ssize_t left = read(ifd, ev, sizeof ev);
  fcntl(ifd, F_SETFL, fl);
  if (left > 0)
    return facet_fail("the parent still sees an inotify event: not one queue");
  if (kill(child, 0) < 0)
    return facet_fail("child %d is gone: %s", child, strerror(errno));
  return facet_pass();
}
