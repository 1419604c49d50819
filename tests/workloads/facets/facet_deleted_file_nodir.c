/* A deleted file whose directory is gone too comes back as a memfd (no
 * directory to make it in): same contents, size, offset and flags. */
#include <sys/stat.h>

#include "facet.h"
#include "facet_fdutil.h"

#define LEN 50000

static int fd;
static char data[LEN];

FACET_SETUP(dir) {
  (void)dir;
  facet_fill(data, LEN, 21);
  if (mkdir("gone", 0755) < 0)
    return facet_fail("mkdir: %s", strerror(errno)), 1;
  fd = open("gone/file", O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, data, LEN) != LEN || unlink("gone/file") < 0 || rmdir("gone") < 0)
    return facet_fail("setup: %s", strerror(errno)), 1;
  lseek(fd, 4321, SEEK_SET);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!facet_fd_flags(fd, "deleted file", O_ACCMODE | O_APPEND, O_RDWR | O_APPEND, 1))
    return 0;
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_nlink != 0 || st.st_size != LEN || !S_ISREG(st.st_mode))
    return facet_fail("nlink %lu size %lld", (unsigned long)st.st_nlink, (long long)st.st_size);
  if (lseek(fd, 0, SEEK_CUR) != 4321)
    return facet_fail("offset %lld", (long long)lseek(fd, 0, SEEK_CUR));
  static char buf[LEN];
  if (pread(fd, buf, LEN, 0) != LEN || memcmp(buf, data, LEN))
    return facet_fail("contents differ");
  char link[512];
  facet_fdlink(fd, link, sizeof link);
  if (!strstr(link, "(deleted)"))
    return facet_fail("link %s", link);
  return facet_pass();
}
