/* memfds keep their name, size, contents (holes stay holes), seals, mode
 * and each open's flags and offset; a second open of one (through /proc)
 * still reaches the same memory. A write-sealed one refuses writes. */
#include <sys/mman.h>
#include <sys/stat.h>

#include "facet.h"
#include "facet_fdutil.h"

#define MIB (1u << 20)

static int mfd, ro, sealed;
static char *pattern;

FACET_SETUP(dir) {
  (void)dir;
  mfd = memfd_create("facet-memfd", MFD_ALLOW_SEALING | MFD_CLOEXEC);
  sealed = memfd_create("sealed", MFD_ALLOW_SEALING);
  pattern = malloc(MIB);
  if (mfd < 0 || sealed < 0 || !pattern)
    return facet_fail("memfd_create: %s", strerror(errno)), 1;
  facet_fill(pattern, MIB, 77);
  if (ftruncate(mfd, 8 * MIB) < 0 || pwrite(mfd, pattern, MIB, 0) != MIB ||
      pwrite(mfd, pattern, 64 << 10, 4 * MIB) != 64 << 10 ||
      fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0 || fchmod(mfd, 0640) < 0)
    return facet_fail("fill: %s", strerror(errno)), 1;
  lseek(mfd, 12345, SEEK_SET);
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", mfd);
  ro = open(path, O_RDONLY);
  if (ro < 0 || write(sealed, "constant", 8) != 8 ||
      fcntl(sealed, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
    return facet_fail("second open / seal: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!facet_fd_flags(mfd, "memfd", O_ACCMODE, O_RDWR, 1) ||
      !facet_fd_flags(ro, "read-only open", O_ACCMODE, O_RDONLY, 0))
    return 0;
  char link[256];
  facet_fdlink(mfd, link, sizeof link);
  if (strcmp(link, "/memfd:facet-memfd (deleted)"))
    return facet_fail("link %s", link);
  struct stat st;
  if (fstat(mfd, &st) < 0 || st.st_size != 8 * MIB || (st.st_mode & 07777) != 0640)
    return facet_fail("size %lld mode 0%o", (long long)st.st_size, st.st_mode & 07777);
  int seals = fcntl(mfd, F_GET_SEALS);
  if (seals != (F_SEAL_SHRINK | F_SEAL_GROW))
    return facet_fail("seals 0x%x", seals);
  if (lseek(mfd, 0, SEEK_CUR) != 12345 || lseek(ro, 0, SEEK_CUR) != 0)
    return facet_fail("offsets %lld and %lld", (long long)lseek(mfd, 0, SEEK_CUR),
                      (long long)lseek(ro, 0, SEEK_CUR));
  char *buf = malloc(MIB);
  if (!buf || pread(ro, buf, MIB, 0) != MIB || memcmp(buf, pattern, MIB) ||
      pread(ro, buf, 64 << 10, 4 * MIB) != 64 << 10 || memcmp(buf, pattern, 64 << 10)) {
    free(buf);
    return facet_fail("contents differ");
  }
  free(buf);
  if (lseek(ro, MIB, SEEK_DATA) != 4 * MIB || lseek(ro, 4 * MIB, SEEK_HOLE) != 4 * MIB + (64 << 10))
    return facet_fail("the hole moved: data at %lld", (long long)lseek(ro, MIB, SEEK_DATA));
  lseek(ro, 0, SEEK_SET);
  /* One inode behind both opens. */
  char c = 0;
  if (pwrite(mfd, "Z", 1, 100) != 1 || pread(ro, &c, 1, 100) != 1 || c != 'Z' ||
      pwrite(mfd, pattern + 100, 1, 100) != 1)
    return facet_fail("the two opens no longer share the memory");
  if (ftruncate(mfd, MIB) != -1 || errno != EPERM)
    return facet_fail("F_SEAL_SHRINK lost");
  if (fcntl(sealed, F_GET_SEALS) != (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
    return facet_fail("sealed memfd has seals 0x%x", fcntl(sealed, F_GET_SEALS));
  if (pwrite(sealed, "x", 1, 0) != -1 || errno != EPERM)
    return facet_fail("a write-sealed memfd took a write");
  char word[9] = {0};
  if (pread(sealed, word, 8, 0) != 8 || strcmp(word, "constant"))
    return facet_fail("sealed memfd holds '%s'", word);
  return facet_pass();
}
