/* A session leader (the harness starts every facet with setsid()) stays
 * the leader of its session and of its process group: sid == pgid == pid. */
#include "facet.h"

FACET_SETUP(dir) {
  (void)dir;
  if (getsid(0) != getpid() && setsid() < 0)
    return facet_fail("setsid: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  pid_t pid = getpid(), sid = getsid(0), pgid = getpgid(0);
  if (sid != pid || pgid != pid)
    return facet_fail("sid %d, pgid %d, pid %d", sid, pgid, pid);
  if (getpgrp() != pid)
    return facet_fail("getpgrp %d", getpgrp());
  return facet_pass();
}
