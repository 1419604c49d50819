/* A session leader with a controlling terminal (a pty slave it opened
 * without O_NOCTTY). Refused by name until terminals move: it would come
 * back without one. */
#include <sys/ioctl.h>

#include "facet.h"

static int master;

FACET_SETUP(dir) {
  (void)dir;
  master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
    return facet_fail("posix_openpt: %s", strerror(errno)), 1;
  int slave = open(ptsname(master), O_RDWR | O_CLOEXEC);
  if (slave < 0)
    return facet_fail("slave: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (tty < 0)
    return facet_fail("no controlling terminal: %s", strerror(errno));
  close(tty);
  return facet_pass();
}
