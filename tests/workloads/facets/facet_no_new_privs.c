/* no_new_privs stays set (it can never be cleared, so losing it would be
 * a silent widening of what the process may gain). */
#include <sys/prctl.h>

#include "facet.h"

FACET_SETUP(dir) {
  (void)dir;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return facet_fail("PR_SET_NO_NEW_PRIVS: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  int v = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  if (v != 1)
    return facet_fail("PR_GET_NO_NEW_PRIVS is %d", v);
  return facet_pass();
}
