/* The program break: what lies below it survives, and sbrk still grows and
 * shrinks the heap after the move. */
#include <malloc.h>

#include "facet.h"
#include "facet_memutil.h"

#define GROWN (256 * PAGE)

static char *base;

FACET_SETUP(dir) {
  (void)dir;
  /* Keep malloc off the break (every allocation it makes from now on is
   * mmapped): the break is ours. */
  mallopt(M_MMAP_THRESHOLD, 0);
  mallopt(M_TRIM_THRESHOLD, -1);
  mallopt(M_TOP_PAD, 0);
  base = sbrk(0);
  if (sbrk(GROWN) != base)
    return facet_fail("sbrk: %s", strerror(errno)), 1;
  facet_fill(base, GROWN, 71);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  char *brk_now = sbrk(0);
  if (brk_now != base + GROWN)
    return facet_fail("break at %p, expected %p", (void *)brk_now, (void *)(base + GROWN));
  long at = facet_differs(base, GROWN, 71);
  if (at >= 0)
    return facet_fail("contents below the break differ at word %ld", at);
  struct facet_vma v;
  if (!facet_vma_of(base + GROWN - 1, &v))
    return 0;
  if (strcmp(v.path, "[heap]") || v.end != (unsigned long)(base + GROWN))
    return facet_fail("heap VMA %lx-%lx '%s'", v.start, v.end, v.path);
  char *more = sbrk(64 * PAGE);
  if (more != base + GROWN)
    return facet_fail("sbrk grow gave %p: %s", (void *)more, strerror(errno));
  facet_fill(more, 64 * PAGE, 72);
  at = facet_differs(more, 64 * PAGE, 72);
  if (at >= 0)
    return facet_fail("grown heap differs at word %ld", at);
  if (!facet_vma_of(more + 64 * PAGE - 1, &v))
    return 0;
  if (strcmp(v.path, "[heap]"))
    return facet_fail("grown heap VMA '%s'", v.path);
  if (sbrk(-64 * (long)PAGE) == (void *)-1 || sbrk(0) != base + GROWN)
    return facet_fail("sbrk shrink: break at %p", sbrk(0));
  if (!facet_touch_faults(base + GROWN + PAGE, 0))
    return facet_fail("memory above the shrunk break is still there");
  return facet_pass();
}
