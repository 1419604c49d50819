/* An open file description lock (fcntl F_OFD_SETLK) on bytes 100 to 299 of a file: another
 * process is kept out of them, not out of the bytes before. Refused by name
 * until locks move (dropped, they let a second writer in). */
#include "facet.h"
#include "facet_lockutil.h"

static int fd;

FACET_SETUP(dir) {
  (void)dir;
  fd = facet_lock_file();
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 200};
  if (fd < 0 || fcntl(fd, F_OFD_SETLK, &fl) < 0)
    return facet_fail("lock: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (facet_locked_out(PROBE_OFD, 150, 10) != 1)
    return facet_fail("another process got into the locked bytes");
  if (facet_locked_out(PROBE_OFD, 0, 100) != 0)
    return facet_fail("another process is kept out of bytes nobody locked");
  return facet_pass();
}
