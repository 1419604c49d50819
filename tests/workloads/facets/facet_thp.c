/* A MADV_HUGEPAGE region (2 MiB aligned, every page written) keeps its
 * advice, its contents and, when the source backed it with transparent
 * huge pages, its huge pages. */
#include <sys/mman.h>

#include "facet.h"
#include "facet_memutil.h"

#define HUGE (2ul << 20)
#define LEN (2 * HUGE)

static char *p;
static long huge_kb; /* AnonHugePages on the source after setup */

FACET_SETUP(dir) {
  (void)dir;
  char *raw = mmap(NULL, LEN + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    return facet_fail("mmap: %s", strerror(errno)), 1;
  p = (char *)(((unsigned long)raw + HUGE - 1) & ~(HUGE - 1));
  if (p > raw)
    munmap(raw, (size_t)(p - raw));
  munmap(p + LEN, (size_t)(raw + LEN + HUGE - (p + LEN)));
  if (madvise(p, LEN, MADV_HUGEPAGE) < 0)
    return facet_fail("madvise: %s", strerror(errno)), 1;
  facet_fill(p, LEN, 41);
  struct facet_vma v;
  if (!facet_vma_of(p, &v))
    return 1;
  huge_kb = v.anon_huge_kb;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  struct facet_vma v;
  if (!facet_vma_of(p, &v))
    return 0;
  if (v.start != (unsigned long)p || v.end != (unsigned long)p + LEN)
    return facet_fail("VMA %lx-%lx, expected %p + 4 MiB", v.start, v.end, (void *)p);
  if (!facet_vma_flag(&v, "hg"))
    return facet_fail("MADV_HUGEPAGE lost (VmFlags%s)", v.flags);
  long at = facet_differs(p, LEN, 41);
  if (at >= 0)
    return facet_fail("contents differ at word %ld", at);
  if (v.anon_huge_kb < huge_kb)
    return facet_fail("AnonHugePages %ld kB, the source had %ld kB", v.anon_huge_kb, huge_kb);
  return facet_pass();
}
