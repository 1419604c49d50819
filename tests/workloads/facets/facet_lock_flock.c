/* An flock lock: another process is kept out of the file. Refused by name
 * until locks move. */
#include "facet.h"
#include "facet_lockutil.h"

static int fd;

FACET_SETUP(dir) {
  (void)dir;
  fd = facet_lock_file();
  if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
    return facet_fail("flock: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (facet_locked_out(PROBE_FLOCK, 0, 0) != 1)
    return facet_fail("another process got the flock lock");
  return facet_pass();
}
