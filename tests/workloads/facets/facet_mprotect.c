/* Protections survive, and so do the contents under them: a read-only
 * region written before its mprotect, a PROT_NONE guard page inside a
 * writable area, a PROT_NONE region with contents, a PROT_NONE reservation
 * never touched. Each forbidden access still faults. */
#include <sys/mman.h>

#include "facet.h"
#include "facet_memutil.h"

static char *ro, *area, *hidden, *reserve;

static char *map(size_t pages) {
  return mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

FACET_SETUP(dir) {
  (void)dir;
  ro = map(8);
  area = map(16);
  hidden = map(4);
  reserve = mmap(NULL, 64 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (ro == MAP_FAILED || area == MAP_FAILED || hidden == MAP_FAILED || reserve == MAP_FAILED)
    return facet_fail("mmap: %s", strerror(errno)), 1;
  facet_fill(ro, 8 * PAGE, 51);
  facet_fill(area, 16 * PAGE, 52);
  facet_fill(hidden, 4 * PAGE, 53);
  if (mprotect(ro, 8 * PAGE, PROT_READ) < 0 || mprotect(area + 4 * PAGE, PAGE, PROT_NONE) < 0 ||
      mprotect(hidden, 4 * PAGE, PROT_NONE) < 0)
    return facet_fail("mprotect: %s", strerror(errno)), 1;
  return 0;
}

static int expect(const void *addr, const char *perms, unsigned long start, unsigned long end) {
  struct facet_vma v;
  if (!facet_vma_of(addr, &v))
    return 0;
  if (strcmp(v.perms, perms) || (start && v.start != start) || (end && v.end != end))
    return facet_fail("%p: VMA %lx-%lx %s, expected %lx-%lx %s", addr, v.start, v.end, v.perms,
                      start, end, perms);
  return 1;
}

FACET_CHECK(seq) {
  (void)seq;
  unsigned long a = (unsigned long)area;
  if (!expect(ro, "r--p", (unsigned long)ro, (unsigned long)ro + 8 * PAGE) ||
      !expect(area, "rw-p", 0, a + 4 * PAGE) ||
      !expect(area + 4 * PAGE, "---p", a + 4 * PAGE, a + 5 * PAGE) ||
      !expect(area + 5 * PAGE, "rw-p", a + 5 * PAGE, 0) ||
      !expect(hidden, "---p", (unsigned long)hidden, (unsigned long)hidden + 4 * PAGE) ||
      !expect(reserve, "---p", (unsigned long)reserve, (unsigned long)reserve + 64 * PAGE))
    return 0;
  long at = facet_differs(ro, 8 * PAGE, 51);
  if (at >= 0)
    return facet_fail("read-only contents differ at word %ld", at);
  for (size_t i = 0; i < 16 * PAGE / 8; i++)
    if ((i < 4 * PAGE / 8 || i >= 5 * PAGE / 8) && ((uint64_t *)area)[i] != facet_mix(i ^ 52))
      return facet_fail("writable area differs at word %zu", i);
  if (!facet_touch_faults(ro + 100, 1))
    return facet_fail("the read-only region took a write");
  if (!facet_touch_faults(area + 4 * PAGE + 8, 0))
    return facet_fail("the guard page can be read");
  if (!facet_touch_faults(hidden, 0) || !facet_touch_faults(reserve + 10 * PAGE, 0))
    return facet_fail("a PROT_NONE region can be read");
  /* What lies under PROT_NONE is still there. */
  if (mprotect(area + 4 * PAGE, PAGE, PROT_READ) < 0 || mprotect(hidden, 4 * PAGE, PROT_READ) < 0)
    return facet_fail("mprotect: %s", strerror(errno));
  int guard_ok = 1;
  for (size_t i = 4 * PAGE / 8; i < 5 * PAGE / 8; i++)
    if (((uint64_t *)area)[i] != facet_mix(i ^ 52))
      guard_ok = 0;
  at = facet_differs(hidden, 4 * PAGE, 53);
  if (mprotect(area + 4 * PAGE, PAGE, PROT_NONE) < 0 || mprotect(hidden, 4 * PAGE, PROT_NONE) < 0)
    return facet_fail("mprotect back: %s", strerror(errno));
  if (!guard_ok)
    return facet_fail("the guard page's contents changed");
  if (at >= 0)
    return facet_fail("the PROT_NONE region's contents differ at word %ld", at);
  return facet_pass();
}
