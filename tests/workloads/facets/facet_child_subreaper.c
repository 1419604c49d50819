/* The child subreaper flag stays set. */
#include <sys/prctl.h>

#include "facet.h"

FACET_SETUP(dir) {
  (void)dir;
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    return facet_fail("PR_SET_CHILD_SUBREAPER: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  int v = -1;
  if (prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0) < 0)
    return facet_fail("PR_GET_CHILD_SUBREAPER: %s", strerror(errno));
  if (v != 1)
    return facet_fail("child subreaper flag is %d", v);
  return facet_pass();
}
