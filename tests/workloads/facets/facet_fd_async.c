/* Signal-driven I/O: a pipe's read end with O_ASYNC, owned by the process
 * (F_SETOWN) and signalling SIGRTMIN+1 (F_SETSIG): a write into the pipe
 * still raises that signal. */
#include "facet.h"

static int p[2];
static volatile sig_atomic_t got;

static void on_io(int sig) {
  (void)sig;
  got++;
}

FACET_SETUP(dir) {
  (void)dir;
  struct sigaction sa = {0};
  sa.sa_handler = on_io;
  if (pipe(p) < 0 || sigaction(SIGRTMIN + 1, &sa, NULL) < 0 ||
      fcntl(p[0], F_SETOWN, getpid()) < 0 || fcntl(p[0], F_SETSIG, SIGRTMIN + 1) < 0 ||
      fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK) < 0)
    return facet_fail("setup: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  int fl = fcntl(p[0], F_GETFL);
  if (!(fl & O_ASYNC))
    return facet_fail("O_ASYNC is gone (flags %#o)", fl);
  if (fcntl(p[0], F_GETOWN) != getpid())
    return facet_fail("owner %d, expected %d", fcntl(p[0], F_GETOWN), getpid());
  if (fcntl(p[0], F_GETSIG) != SIGRTMIN + 1)
    return facet_fail("signal %d, expected %d", fcntl(p[0], F_GETSIG), SIGRTMIN + 1);
  sig_atomic_t before = got;
  if (write(p[1], "x", 1) != 1)
    return facet_fail("write: %s", strerror(errno));
  for (int i = 0; i < 1000 && got == before; i++)
    usleep(1000);
  char c;
  while (read(p[0], &c, 1) == 1) {
  }
  if (got == before)
    return facet_fail("no signal for the write");
  return facet_pass();
}
