/* A pty pair the process holds both ends of, with bytes written to the
 * master waiting at the slave. Refused by name until terminals move (the
 * master reopened by path would be a new, unconnected pty). */
#include <sys/ioctl.h>

#include "facet.h"

static int master, slave;

FACET_SETUP(dir) {
  (void)dir;
  master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
    return facet_fail("posix_openpt: %s", strerror(errno)), 1;
  slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0 || write(master, "hello\n", 6) != 6)
    return facet_fail("slave: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  int queued = 0;
  if (ioctl(slave, FIONREAD, &queued) < 0 || queued != 6)
    return facet_fail("%d bytes wait at the slave, not 6", queued);
  return facet_pass();
}
