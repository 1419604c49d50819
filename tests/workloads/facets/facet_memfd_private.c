/* A private (copy-on-write) mapping of a memfd cannot move yet: refused by
 * name, the process untouched. */
#include <sys/mman.h>

#include "facet.h"

static char *p;

FACET_SETUP(dir) {
  (void)dir;
  int fd = memfd_create("facet-private", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, 65536) < 0 || pwrite(fd, "file", 4, 0) != 4)
    return facet_fail("memfd: %s", strerror(errno)), 1;
  p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED)
    return facet_fail("mmap: %s", strerror(errno)), 1;
  memcpy(p + 4096, "copy", 4);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (memcmp(p, "file", 4) || memcmp(p + 4096, "copy", 4))
    return facet_fail("the mapping holds other bytes");
  return facet_pass();
}
