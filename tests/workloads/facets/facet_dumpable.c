/* A process that made itself non-dumpable stays so (lmig, as root, can
 * still trace it to move it). */
#include <sys/prctl.h>

#include "facet.h"

FACET_SETUP(dir) {
  (void)dir;
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return facet_fail("PR_SET_DUMPABLE: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  int v = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  if (v != 0)
    return facet_fail("PR_GET_DUMPABLE is %d", v);
  return facet_pass();
}
