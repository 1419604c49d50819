/* A memfd both open and mapped (twice, at different offsets, one window
 * read-only): on the target the fd and the mappings are one inode again, so
 * a write through any of them is seen through the others. A third mapping,
 * of a read-only open, can still never be made writable. */
#include <sys/mman.h>
#include <sys/stat.h>

#include "facet.h"
#include "facet_fdutil.h"
#include "facet_memutil.h"

#define NPAGES 8

static int fd;
static char *p, *win, *ro_map;

FACET_SETUP(dir) {
  (void)dir;
  fd = memfd_create("facet-map", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, NPAGES * PAGE) < 0)
    return facet_fail("memfd: %s", strerror(errno)), 1;
  p = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  win = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, fd, 4 * PAGE);
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  int ro = open(path, O_RDONLY);
  ro_map = ro < 0 ? MAP_FAILED : mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
  if (ro >= 0)
    close(ro);
  if (p == MAP_FAILED || win == MAP_FAILED || ro_map == MAP_FAILED)
    return facet_fail("mmap: %s", strerror(errno)), 1;
  facet_fill(p, NPAGES * PAGE, 21);
  lseek(fd, 777, SEEK_SET);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  long at = facet_differs(p, NPAGES * PAGE, 21);
  if (at >= 0)
    return facet_fail("mapping differs at word %ld", at);
  char *buf = malloc(NPAGES * PAGE);
  if (!buf || pread(fd, buf, NPAGES * PAGE, 0) != NPAGES * PAGE)
    return free(buf), facet_fail("pread: %s", strerror(errno));
  at = facet_differs(buf, NPAGES * PAGE, 21);
  free(buf);
  if (at >= 0)
    return facet_fail("the fd reads other bytes than the mapping holds (word %ld)", at);
  if (memcmp(win, p + 4 * PAGE, 4 * PAGE))
    return facet_fail("the window at offset 4 pages shows other bytes");
  if (lseek(fd, 0, SEEK_CUR) != 777)
    return facet_fail("offset %lld", (long long)lseek(fd, 0, SEEK_CUR));
  char link[256];
  facet_fdlink(fd, link, sizeof link);
  if (strcmp(link, "/memfd:facet-map (deleted)"))
    return facet_fail("link %s", link);
  struct facet_vma v;
  if (!facet_vma_of(p, &v))
    return 0;
  if (strcmp(v.perms, "rw-s") || strcmp(v.path, "/memfd:facet-map (deleted)"))
    return facet_fail("mapping %s %s", v.perms, v.path);
  if (!facet_vma_of(win, &v))
    return 0;
  if (strcmp(v.perms, "r--s") || strcmp(v.path, "/memfd:facet-map (deleted)"))
    return facet_fail("window %s %s", v.perms, v.path);
  if (!facet_vma_of(ro_map, &v))
    return 0;
  if (strcmp(v.perms, "r--s") || facet_vma_flag(&v, "mw") || !facet_vma_of(win, &v))
    return facet_fail("mapping of a read-only open: %s VmFlags%s", v.perms, v.flags);
  if (!facet_vma_flag(&v, "mw"))
    return facet_fail("the read-only window of the read-write open lost VM_MAYWRITE");
  if (mprotect(ro_map, PAGE, PROT_READ | PROT_WRITE) == 0 || errno != EACCES)
    return facet_fail("a mapping of a read-only open became writable");
  if (memcmp(ro_map, p, PAGE))
    return facet_fail("the read-only open's mapping shows other bytes");
  /* fd -> mapping */
  char c = 'Q', orig = p[4 * PAGE + 100];
  if (pwrite(fd, &c, 1, 4 * PAGE + 100) != 1)
    return facet_fail("pwrite: %s", strerror(errno));
  int seen = ((volatile char *)p)[4 * PAGE + 100] == 'Q' && ((volatile char *)win)[100] == 'Q';
  p[4 * PAGE + 100] = orig;
  if (!seen)
    return facet_fail("a write through the fd is not seen in the mappings");
  /* mapping -> fd */
  orig = p[5];
  p[5] = 'Z';
  if (pread(fd, &c, 1, 5) != 1)
    return facet_fail("pread: %s", strerror(errno));
  p[5] = orig;
  if (c != 'Z')
    return facet_fail("a write through the mapping is not seen through the fd");
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size != NPAGES * PAGE)
    return facet_fail("size %lld", (long long)st.st_size);
  return facet_pass();
}
