/* A pipe whose I/O signals go to another process (its parent, which stays
 * behind). Refused by name: after a move they would go nowhere, or to a
 * stranger with that PID. (The signal is SIGWINCH, which the parent, the
 * test, ignores by default: SIGIO would end it when the pipe closes.) */
#include "facet.h"

static int p[2];

FACET_SETUP(dir) {
  (void)dir;
  if (pipe(p) < 0 || fcntl(p[0], F_SETSIG, SIGWINCH) < 0 || fcntl(p[0], F_SETOWN, getppid()) < 0 ||
      fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK) < 0)
    return facet_fail("setup: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (fcntl(p[0], F_GETOWN) != getppid())
    return facet_fail("owner %d, expected %d", fcntl(p[0], F_GETOWN), getppid());
  return facet_pass();
}
