/* Read-ahead advice: MADV_SEQUENTIAL and MADV_RANDOM each stay on their
 * range (VmFlags sr, rr), an anonymous one and one of a file mapping. */
#include <sys/mman.h>

#include "facet.h"
#include "facet_memutil.h"

#define LEN (4 * PAGE)

static char *seq, *rnd, *file_rnd, *plain;

FACET_SETUP(dir) {
  (void)dir;
  char *all = mmap(NULL, 9 * LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int fd = open("mapped", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (all == MAP_FAILED || fd < 0 || ftruncate(fd, LEN) < 0)
    return facet_fail("mmap/open: %s", strerror(errno)), 1;
  char **slots[] = {&seq, &rnd, &plain};
  for (int i = 0; i < 3; i++) {
    *slots[i] = mmap(all + (2 * i + 1) * LEN, LEN, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (*slots[i] == MAP_FAILED)
      return facet_fail("mmap: %s", strerror(errno)), 1;
    facet_fill(*slots[i], LEN, 91 + (uint64_t)i);
  }
  file_rnd = mmap(all + 7 * LEN, LEN, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
  close(fd);
  if (file_rnd == MAP_FAILED)
    return facet_fail("mmap file: %s", strerror(errno)), 1;
  if (madvise(seq, LEN, MADV_SEQUENTIAL) < 0 || madvise(rnd, LEN, MADV_RANDOM) < 0 ||
      madvise(file_rnd, LEN, MADV_RANDOM) < 0)
    return facet_fail("madvise: %s", strerror(errno)), 1;
  return 0;
}

static int advice_is(char *p, const char *what, int sr, int rr) {
  struct facet_vma v;
  if (!facet_vma_of(p, &v))
    return 0;
  if (v.start != (unsigned long)p || v.end != (unsigned long)p + LEN ||
      facet_vma_flag(&v, "sr") != sr || facet_vma_flag(&v, "rr") != rr)
    return facet_fail("%s: VMA %lx-%lx VmFlags%s", what, v.start, v.end, v.flags);
  return 1;
}

FACET_CHECK(seq_no) {
  (void)seq_no;
  if (!advice_is(seq, "SEQUENTIAL", 1, 0) || !advice_is(rnd, "RANDOM", 0, 1) ||
      !advice_is(file_rnd, "RANDOM file", 0, 1) || !advice_is(plain, "plain", 0, 0))
    return 0;
  if (facet_differs(seq, LEN, 91) >= 0 || facet_differs(rnd, LEN, 92) >= 0 ||
      facet_differs(plain, LEN, 93) >= 0)
    return facet_fail("contents changed");
  return facet_pass();
}
