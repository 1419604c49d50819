/* madvise state that changes what a fork or a core dump sees: DONTFORK
 * (absent in the child), WIPEONFORK (zero in the child, intact in the
 * parent), DONTDUMP; each stays on its range (VmFlags dc, wf, dd) and
 * still acts. */
#include <sys/mman.h>
#include <sys/wait.h>

#include "facet.h"
#include "facet_memutil.h"

#define LEN (4 * PAGE)

static char *dontfork, *wipe, *nodump, *plain;


FACET_SETUP(dir) {
  (void)dir;
  /* Guard pages between them keep the kernel from merging neighbours. */
  char *all = mmap(NULL, 9 * LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (all == MAP_FAILED)
    return facet_fail("mmap: %s", strerror(errno)), 1;
  char **slots[] = {&dontfork, &wipe, &nodump, &plain};
  for (int i = 0; i < 4; i++) {
    *slots[i] = mmap(all + (2 * i + 1) * LEN, LEN, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (*slots[i] == MAP_FAILED)
      return facet_fail("mmap: %s", strerror(errno)), 1;
    facet_fill(*slots[i], LEN, 81 + (uint64_t)i);
  }
  if (madvise(dontfork, LEN, MADV_DONTFORK) < 0 || madvise(wipe, LEN, MADV_WIPEONFORK) < 0 ||
      madvise(nodump, LEN, MADV_DONTDUMP) < 0)
    return facet_fail("madvise: %s", strerror(errno)), 1;
  return 0;
}

static int flags_are(char *p, const char *what, int dc, int wf, int dd) {
  struct facet_vma v;
  if (!facet_vma_of(p, &v))
    return 0;
  if (v.start != (unsigned long)p || v.end != (unsigned long)p + LEN ||
      facet_vma_flag(&v, "dc") != dc || facet_vma_flag(&v, "wf") != wf ||
      facet_vma_flag(&v, "dd") != dd)
    return facet_fail("%s: VMA %lx-%lx VmFlags%s", what, v.start, v.end, v.flags);
  return 1;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!flags_are(dontfork, "DONTFORK", 1, 0, 0) || !flags_are(wipe, "WIPEONFORK", 0, 1, 0) ||
      !flags_are(nodump, "DONTDUMP", 0, 0, 1) || !flags_are(plain, "plain", 0, 0, 0))
    return 0;
  char *all[] = {dontfork, wipe, nodump, plain};
  for (int i = 0; i < 4; i++)
    if (facet_differs(all[i], LEN, 81 + (uint64_t)i) >= 0)
      return facet_fail("region %d's contents differ in the parent", i);
  pid_t c = fork();
  if (c < 0)
    return facet_fail("fork: %s", strerror(errno));
  if (c == 0) {
    int bad = 0;
    unsigned char vec[LEN / PAGE];
    if (mincore(dontfork, LEN, vec) == 0 || errno != ENOMEM)
      bad |= 1; /* the DONTFORK range must not exist here */
    for (size_t i = 0; i < LEN; i++)
      if (wipe[i])
        bad |= 2;
    if (facet_differs(nodump, LEN, 83) >= 0)
      bad |= 4;
    if (facet_differs(plain, LEN, 84) >= 0)
      bad |= 8;
    _exit(bad);
  }
  int st;
  if (waitpid(c, &st, 0) != c || !WIFEXITED(st))
    return facet_fail("child failed (status 0x%x)", st);
  int bad = WEXITSTATUS(st);
  if (bad & 1)
    return facet_fail("the child has the DONTFORK range");
  if (bad & 2)
    return facet_fail("the child sees the WIPEONFORK range unwiped");
  if (bad & 12)
    return facet_fail("the child sees other contents (0x%x)", bad);
  if (facet_differs(wipe, LEN, 82) >= 0)
    return facet_fail("the parent's WIPEONFORK range changed");
  return facet_pass();
}
