/* Guard regions (MADV_GUARD_INSTALL, Linux 6.13+): inside a filled
 * anonymous mapping, pages 2 and 5 are guards that fault on any access, and
 * the pages around them keep their bytes. */
#include <sys/mman.h>

#include "facet.h"
#include "facet_memutil.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define PAGES 8

static char *mem;
static char ref[PAGES * PAGE];

FACET_SETUP(dir) {
  (void)dir;
  mem = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED)
    return facet_fail("mmap: %s", strerror(errno)), 1;
  facet_fill(mem, PAGES * PAGE, 77);
  facet_fill(ref, PAGES * PAGE, 77);
  if (madvise(mem + 2 * PAGE, PAGE, MADV_GUARD_INSTALL) < 0 ||
      madvise(mem + 5 * PAGE, PAGE, MADV_GUARD_INSTALL) < 0)
    return facet_fail("guard install: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  for (int i = 0; i < PAGES; i++) {
    const int guard = i == 2 || i == 5;
    if (facet_touch_faults(mem + i * PAGE, 0) != guard)
      return facet_fail("page %d %s", i, guard ? "is readable: its guard is gone" : "faults");
    if (!guard && memcmp(mem + i * PAGE, ref + i * PAGE, PAGE))
      return facet_fail("page %d changed", i);
  }
  return facet_pass();
}
