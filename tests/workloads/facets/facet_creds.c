/* Credentials: real/effective/saved uids and gids that all differ, fs uid
 * and gid equal to the saved ones (not the effective), supplementary
 * groups, and the keep-capabilities flag it dropped root with. */
#include <grp.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "facet.h"

static const gid_t kGroups[] = {5, 1234, 60001};

FACET_SETUP(dir) {
  /* It keeps writing its verdict here as another user. */
  if (chmod(dir, 0777) < 0)
    return facet_fail("chmod: %s", strerror(errno)), 1;
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
      setgroups(sizeof kGroups / sizeof kGroups[0], kGroups) < 0 ||
      setresgid(2001, 2002, 2003) < 0 || setresuid(1001, 1002, 1003) < 0)
    return facet_fail("drop root: %s", strerror(errno)), 1;
  setfsgid(2003); /* allowed without privilege: the saved ids */
  setfsuid(1003);
  if ((uid_t)setfsuid(-1) != 1003 || (gid_t)setfsgid(-1) != 2003)
    return facet_fail("setfsuid/setfsgid did not take"), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  uid_t r, e, s;
  gid_t gr, ge, gs;
  if (getresuid(&r, &e, &s) < 0 || getresgid(&gr, &ge, &gs) < 0)
    return facet_fail("getres*id: %s", strerror(errno));
  if (r != 1001 || e != 1002 || s != 1003)
    return facet_fail("uids %u/%u/%u", r, e, s);
  if (gr != 2001 || ge != 2002 || gs != 2003)
    return facet_fail("gids %u/%u/%u", gr, ge, gs);
  uid_t fsuid = (uid_t)setfsuid(-1);
  gid_t fsgid = (gid_t)setfsgid(-1);
  if (fsuid != 1003 || fsgid != 2003)
    return facet_fail("fsuid %u, fsgid %u", fsuid, fsgid);
  gid_t g[16];
  int n = getgroups(16, g);
  if (n != 3 || g[0] != kGroups[0] || g[1] != kGroups[1] || g[2] != kGroups[2])
    return facet_fail("%d supplementary groups (first %u)", n, n > 0 ? g[0] : 0);
  int keep = prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0);
  if (keep != 1)
    return facet_fail("keep-capabilities flag %d", keep);
  return facet_pass();
}
