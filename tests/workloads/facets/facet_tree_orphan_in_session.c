/* A process of the facet's session that is no longer under it (its parent,
 * a child of the facet, exited: it was reparented elsewhere) would be left
 * behind by a move: refused by name, and both go on. */
#include "facet.h"

#include <sys/wait.h>

static pid_t orphan;

FACET_SETUP(dir) {
  (void)dir;
  int p[2];
  if (pipe(p) < 0)
    return facet_fail("pipe: %s", strerror(errno)), 1;
  const pid_t top = getpid();
  pid_t child = fork();
  if (child < 0)
    return facet_fail("fork: %s", strerror(errno)), 1;
  if (child == 0) {
    pid_t g = fork();
    if (g == 0) {
      close(p[0]);
      pid_t me = getpid();
      if (write(p[1], &me, sizeof me) != sizeof me)
        _exit(1);
      close(p[1]);
      /* Gone once the facet is: the tests end it by PID, not this one. */
      while (kill(top, 0) == 0)
        usleep(50000);
      _exit(0);
    }
    _exit(g < 0);
  }
  close(p[1]);
  if (read(p[0], &orphan, sizeof orphan) != sizeof orphan)
    return facet_fail("the grandchild did not report"), 1;
  close(p[0]);
  if (waitpid(child, NULL, 0) != child) /* the orphan's parent is gone */
    return facet_fail("waitpid: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (kill(orphan, 0) < 0)
    return facet_fail("the orphan %d is gone: %s", orphan, strerror(errno));
  if (getsid(orphan) != getpid())
    return facet_fail("the orphan %d left the session", orphan);
  return facet_pass();
}
