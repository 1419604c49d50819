/* Locked memory stays locked with its contents: part of a region under
 * mlock (VmFlags lo, Locked = its size), a region under mlock2 with
 * MLOCK_ONFAULT (lo lf, only touched pages resident), VmLck counts them. */
#include <sys/mman.h>

#include "facet.h"
#include "facet_memutil.h"

static char *r1, *r2;

static long vmlck_kb(void) {
  FILE *f = fopen("/proc/self/status", "re");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
      break;
  if (f)
    fclose(f);
  return kb;
}

FACET_SETUP(dir) {
  (void)dir;
  r1 = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  r2 = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r1 == MAP_FAILED || r2 == MAP_FAILED)
    return facet_fail("mmap: %s", strerror(errno)), 1;
  facet_fill(r1, 16 * PAGE, 91);
  if (mlock(r1 + 4 * PAGE, 8 * PAGE) < 0 || mlock2(r2, 8 * PAGE, MLOCK_ONFAULT) < 0)
    return facet_fail("mlock: %s", strerror(errno)), 1;
  facet_fill(r2, 2 * PAGE, 92);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  struct facet_vma v;
  if (!facet_vma_of(r1, &v))
    return 0;
  if (facet_vma_flag(&v, "lo") || v.end != (unsigned long)r1 + 4 * PAGE)
    return facet_fail("unlocked head %lx-%lx VmFlags%s", v.start, v.end, v.flags);
  if (!facet_vma_of(r1 + 4 * PAGE, &v))
    return 0;
  if (!facet_vma_flag(&v, "lo") || facet_vma_flag(&v, "lf") ||
      v.start != (unsigned long)r1 + 4 * PAGE || v.end != (unsigned long)r1 + 12 * PAGE ||
      v.locked_kb != 32)
    return facet_fail("locked part %lx-%lx Locked %ld kB VmFlags%s", v.start, v.end, v.locked_kb,
                      v.flags);
  if (!facet_vma_of(r1 + 12 * PAGE, &v))
    return 0;
  if (facet_vma_flag(&v, "lo"))
    return facet_fail("unlocked tail is locked");
  if (!facet_vma_of(r2, &v))
    return 0;
  if (!facet_vma_flag(&v, "lo") || !facet_vma_flag(&v, "lf") || v.rss_kb != 8 ||
      v.locked_kb != 8)
    return facet_fail("lock-on-fault region Rss %ld kB Locked %ld kB VmFlags%s", v.rss_kb,
                      v.locked_kb, v.flags);
  long at = facet_differs(r1, 16 * PAGE, 91);
  if (at >= 0)
    return facet_fail("contents differ at word %ld", at);
  if (facet_differs(r2, 2 * PAGE, 92) >= 0)
    return facet_fail("lock-on-fault contents differ");
  long lck = vmlck_kb();
  if (lck < 64)
    return facet_fail("VmLck %ld kB", lck);
  return facet_pass();
}
