/* A memfd mapped and then closed lives on in its mapping: contents, name
 * and sharing (a forked child's writes are seen) survive the move. */
#include <sys/mman.h>
#include <sys/wait.h>

#include "facet.h"
#include "facet_memutil.h"

#define LEN (1ul << 20)

static char *p;

FACET_SETUP(dir) {
  (void)dir;
  int fd = memfd_create("facet-closed", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, LEN) < 0)
    return facet_fail("memfd: %s", strerror(errno)), 1;
  p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    return facet_fail("mmap: %s", strerror(errno)), 1;
  close(fd);
  facet_fill(p, LEN / 2, 31); /* the second half stays a hole */
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  long at = facet_differs(p, LEN / 2, 31);
  if (at >= 0)
    return facet_fail("contents differ at word %ld", at);
  for (size_t i = LEN / 2; i < LEN; i += 64)
    if (p[i])
      return facet_fail("byte %zu of the hole is %d", i, p[i]);
  struct facet_vma v;
  if (!facet_vma_of(p, &v))
    return 0;
  if (strcmp(v.perms, "rw-s") || strcmp(v.path, "/memfd:facet-closed (deleted)") ||
      v.end - v.start != LEN)
    return facet_fail("mapping %lx-%lx %s %s", v.start, v.end, v.perms, v.path);
  if (!facet_no_fd_to("/memfd:facet-closed (deleted)"))
    return 0;
  pid_t c = fork();
  if (c < 0)
    return facet_fail("fork: %s", strerror(errno));
  if (c == 0) {
    p[LEN - 1] = 'C';
    _exit(0);
  }
  int st;
  if (waitpid(c, &st, 0) != c || !WIFEXITED(st))
    return facet_fail("child failed");
  char seen = ((volatile char *)p)[LEN - 1];
  p[LEN - 1] = 0;
  if (seen != 'C')
    return facet_fail("a forked child's write is not shared");
  return facet_pass();
}
