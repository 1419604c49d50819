/* mlockall(MCL_CURRENT | MCL_FUTURE): what was mapped then stays locked,
 * and so is what the process maps after the move. */
#include <sys/mman.h>

#include "facet.h"
#include "facet_memutil.h"

static char *before;

FACET_SETUP(dir) {
  (void)dir;
  before = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (before == MAP_FAILED)
    return facet_fail("mmap: %s", strerror(errno)), 1;
  facet_fill(before, 8 * PAGE, 111);
  if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
    return facet_fail("mlockall: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  struct facet_vma v;
  if (!facet_vma_of(before, &v))
    return 0;
  if (!facet_vma_flag(&v, "lo") || v.locked_kb < 32)
    return facet_fail("region mapped before mlockall: Locked %ld kB VmFlags%s", v.locked_kb,
                      v.flags);
  if (facet_differs(before, 8 * PAGE, 111) >= 0)
    return facet_fail("contents differ");
  /* A new mapping is locked (and populated) at once. */
  char *after = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (after == MAP_FAILED)
    return facet_fail("mmap: %s", strerror(errno));
  int ok = facet_vma_of(after, &v);
  munmap(after, 4 * PAGE);
  if (!ok)
    return 0;
  if (!facet_vma_flag(&v, "lo") || facet_vma_flag(&v, "lf") || v.rss_kb < 16)
    return facet_fail("a mapping made now: Rss %ld kB VmFlags%s (MCL_FUTURE lost)", v.rss_kb,
                      v.flags);
  return facet_pass();
}
