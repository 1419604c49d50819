/* A process with a child (and a zombie): process trees do not move yet, so
 * lmig refuses it by name and both keep running. */
#include <sys/wait.h>

#include "facet.h"

static pid_t child, zombie;

FACET_SETUP(dir) {
  (void)dir;
  child = facet_fork();
  if (child < 0)
    return facet_fail("fork: %s", strerror(errno)), 1;
  if (child == 0) {
    for (;;)
      pause();
  }
  zombie = fork();
  if (zombie < 0)
    return facet_fail("fork: %s", strerror(errno)), 1;
  if (zombie == 0)
    _exit(7);
  siginfo_t si; /* wait until it is a zombie, and leave it one */
  if (waitid(P_PID, (id_t)zombie, &si, WEXITED | WNOWAIT) < 0)
    return facet_fail("waitid: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (kill(child, 0) < 0)
    return facet_fail("child %d is gone: %s", child, strerror(errno));
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_PID, (id_t)zombie, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != zombie ||
      si.si_status != 7)
    return facet_fail("zombie %d is not there to be reaped with status 7", zombie);
  return facet_pass();
}
