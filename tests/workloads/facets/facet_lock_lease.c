/* A read lease (fcntl F_SETLEASE) on a file the process owns: it still
 * holds it. Refused by name until leases move. */
#include "facet.h"
#include "facet_lockutil.h"

static int fd;

FACET_SETUP(dir) {
  (void)dir;
  int w = facet_lock_file();
  if (w < 0)
    return facet_fail("create: %s", strerror(errno)), 1;
  close(w);
  fd = open("locked", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fcntl(fd, F_SETLEASE, F_RDLCK) < 0)
    return facet_fail("lease: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  int l = fcntl(fd, F_GETLEASE);
  if (l != F_RDLCK)
    return facet_fail("lease is %d, not a read lease", l);
  return facet_pass();
}
