/* An io_uring instance cannot move yet: refused by name, the process
 * untouched. */
#include <linux/io_uring.h>

#include "facet.h"

static int ring;

FACET_SETUP(dir) {
  (void)dir;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  ring = (int)syscall(SYS_io_uring_setup, 4, &p);
  return ring < 0 ? (facet_fail("io_uring_setup: %s", strerror(errno)), 1) : 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (fcntl(ring, F_GETFD) < 0)
    return facet_fail("the ring is gone");
  return facet_pass();
}
