/* Shared anonymous memory holding more than the image carries (64 MiB)
 * cannot move yet: refused by name, the process untouched. */
#include <sys/mman.h>

#include "facet.h"

#define LEN (80ul << 20)

static char *p;

FACET_SETUP(dir) {
  (void)dir;
  p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return facet_fail("mmap: %s", strerror(errno)), 1;
  facet_fill(p, LEN, 101);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  long at = facet_differs(p, LEN, 101);
  if (at >= 0)
    return facet_fail("contents differ at word %ld", at);
  return facet_pass();
}
