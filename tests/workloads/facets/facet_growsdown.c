/* A MAP_GROWSDOWN stack keeps its contents and still grows down: each check
 * touches a page below its current start, and the VMA must take it in. */
#include <sys/mman.h>

#include "facet.h"
#include "facet_memutil.h"

#define RESERVE (8ul << 20)
#define STACK (16 * PAGE)

static char *top; /* the stack's end */

FACET_SETUP(dir) {
  (void)dir;
  /* Room below it: reserve, put the stack at the top, free all but a low
   * PROT_NONE fence (which does not hold back growth). */
  char *r = mmap(NULL, RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (r == MAP_FAILED)
    return facet_fail("mmap: %s", strerror(errno)), 1;
  top = r + RESERVE;
  char *s = mmap(top - STACK, STACK, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, -1, 0);
  if (s == MAP_FAILED)
    return facet_fail("mmap growsdown: %s", strerror(errno)), 1;
  munmap(r + (1ul << 20), RESERVE - (1ul << 20) - STACK);
  facet_fill(s, STACK, 61);
  return 0;
}

FACET_CHECK(seq) {
  struct facet_vma v;
  if (!facet_vma_of(top - 1, &v))
    return 0;
  if (!facet_vma_flag(&v, "gd") || v.end != (unsigned long)top || strcmp(v.perms, "rw-p"))
    return facet_fail("stack VMA %lx-%lx %s, VmFlags%s", v.start, v.end, v.perms, v.flags);
  unsigned long expect_start = (unsigned long)top - STACK - (seq - 1) * 2 * PAGE;
  if (v.start > expect_start)
    return facet_fail("stack starts at %lx, it had grown to %lx", v.start, expect_start);
  long at = facet_differs(top - STACK, STACK, 61);
  if (at >= 0)
    return facet_fail("contents differ at word %ld", at);
  /* What earlier checks grew into holds what they wrote. */
  for (unsigned k = 1; k < seq; k++) {
    volatile char *g = (char *)top - STACK - k * 2 * PAGE;
    if (*g != (char)k)
      return facet_fail("grown page %u holds %d", k, *g);
  }
  /* Grow by two pages. */
  volatile char *below = (char *)top - STACK - seq * 2 * PAGE;
  *below = (char)seq;
  if (!facet_vma_of(top - 1, &v))
    return 0;
  if (v.start > (unsigned long)below)
    return facet_fail("the stack did not grow down to %p (starts at %lx)", (void *)below, v.start);
  return facet_pass();
}
