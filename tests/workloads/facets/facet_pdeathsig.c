/* The parent-death signal keeps its number. (On the target the parent is
 * the namespace's init, which outlives the process.) */
#include <sys/prctl.h>

#include "facet.h"

FACET_SETUP(dir) {
  (void)dir;
  signal(SIGWINCH, SIG_IGN);
  if (prctl(PR_SET_PDEATHSIG, SIGWINCH, 0, 0, 0) < 0)
    return facet_fail("PR_SET_PDEATHSIG: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  int sig = -1;
  if (prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) < 0)
    return facet_fail("PR_GET_PDEATHSIG: %s", strerror(errno));
  if (sig != SIGWINCH)
    return facet_fail("parent-death signal %d, expected %d", sig, SIGWINCH);
  return facet_pass();
}
