/* Shared anonymous memory keeps its contents (holes stay zero) and stays
 * one object: a second mapping of it (mremap with old size 0) and the
 * pieces an mprotect split it into see each other's writes, and so does a
 * forked child. */
#include <sys/mman.h>
#include <sys/wait.h>

#include "facet.h"
#include "facet_memutil.h"

#define NPAGES 16
#define FILLED 12

static char *p, *alias;

FACET_SETUP(dir) {
  (void)dir;
  p = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return facet_fail("mmap: %s", strerror(errno)), 1;
  facet_fill(p, FILLED * PAGE, 11);
  alias = mremap(p, 0, NPAGES * PAGE, MREMAP_MAYMOVE);
  if (alias == MAP_FAILED)
    return facet_fail("mremap: %s", strerror(errno)), 1;
  if (mprotect(p + 8 * PAGE, 4 * PAGE, PROT_READ) < 0)
    return facet_fail("mprotect: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  long at = facet_differs(p, FILLED * PAGE, 11);
  if (at >= 0)
    return facet_fail("contents differ at word %ld", at);
  for (size_t i = FILLED * PAGE; i < NPAGES * PAGE; i++)
    if (p[i])
      return facet_fail("byte %zu of a page never written is %d", i, p[i]);
  if (memcmp(p, alias, NPAGES * PAGE))
    return facet_fail("the second mapping shows other bytes");
  struct facet_vma v;
  if (!facet_vma_of(p, &v))
    return 0;
  if (strcmp(v.perms, "rw-s") || v.end != (unsigned long)p + 8 * PAGE ||
      strncmp(v.path, "/dev/zero", 9))
    return facet_fail("first piece: %lx-%lx %s %s", v.start, v.end, v.perms, v.path);
  if (!facet_vma_of(p + 8 * PAGE, &v))
    return 0;
  if (strcmp(v.perms, "r--s") || v.end != (unsigned long)p + 12 * PAGE)
    return facet_fail("read-only piece: %lx-%lx %s", v.start, v.end, v.perms);
  if (!facet_touch_faults(p + 8 * PAGE, 1))
    return facet_fail("the read-only piece took a write");
  if (!facet_no_fd_to("/dev/zero (deleted)"))
    return 0;
  /* One object: a write through one mapping shows in the other... */
  uint64_t *w = (uint64_t *)(alias + PAGE), old = *w;
  *w = 0x5a5a5a5a5a5a5a5aull;
  int same = *(volatile uint64_t *)(p + PAGE) == 0x5a5a5a5a5a5a5a5aull;
  *w = old;
  if (!same)
    return facet_fail("a write through the second mapping is not seen through the first");
  uint64_t *tail = (uint64_t *)(p + 12 * PAGE);
  *tail = 42;
  same = *(volatile uint64_t *)(alias + 12 * PAGE) == 42;
  *tail = 0;
  if (!same)
    return facet_fail("the last piece and the second mapping no longer share");
  /* ... and a child's writes show in the parent. */
  uint64_t *shared = (uint64_t *)(p + 2 * PAGE), before = *shared;
  pid_t c = fork();
  if (c < 0)
    return facet_fail("fork: %s", strerror(errno));
  if (c == 0) {
    *shared = 0x1234;
    _exit(0);
  }
  int st;
  if (waitpid(c, &st, 0) != c || !WIFEXITED(st))
    return facet_fail("child failed");
  uint64_t seen = *(volatile uint64_t *)(alias + 2 * PAGE);
  *shared = before;
  if (seen != 0x1234)
    return facet_fail("a forked child's write is not shared (0x%llx)", (unsigned long long)seen);
  return facet_pass();
}
