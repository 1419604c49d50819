/* Membarrier registrations (private expedited, with core serialising and
 * with rseq): each is still there after the move, so the commands that
 * need it still work (they fail with EPERM without it). */
#include <linux/membarrier.h>

#include "facet.h"

static long membarrier(int cmd) { return syscall(SYS_membarrier, cmd, 0, 0); }

FACET_SETUP(dir) {
  (void)dir;
  if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) < 0 ||
      membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) < 0)
    return facet_fail("register: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) < 0)
    return facet_fail("private expedited: %s", strerror(errno));
  if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) < 0)
    return facet_fail("private expedited sync core: %s", strerror(errno));
  if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) == 0)
    return facet_fail("rseq barrier works without its registration");
  return facet_pass();
}
