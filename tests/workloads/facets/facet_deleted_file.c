/* A file deleted while open keeps its contents (a hole stays a hole), size,
 * mode, modification time, each open's flags and offset, and its two opens still share one
 * inode: unnamed, on the filesystem it lived on, and not linkable again
 * (as an unlinked file is not). */
#include <sys/stat.h>

#include "facet.h"
#include "facet_fdutil.h"

#define KIB 1024

static int rw, app;
static char data[200 * KIB];
/* Access and modification times, in 2001, put back after each check. */
static const struct timespec times[2] = {{1000000000, 123456789}, {1000000000, 987654321}};

FACET_SETUP(dir) {
  (void)dir;
  facet_fill(data, sizeof data, 11);
  rw = open("doomed", O_RDWR | O_CREAT | O_EXCL, 0640);
  if (rw < 0 || fchmod(rw, 0640) < 0 || pwrite(rw, data, 100 * KIB, 0) != 100 * KIB ||
      pwrite(rw, data + 100 * KIB, 100 * KIB, 1024 * KIB) != 100 * KIB)
    return facet_fail("create: %s", strerror(errno)), 1;
  app = open("doomed", O_WRONLY | O_APPEND);
  if (app < 0 || unlink("doomed") < 0 || futimens(rw, times) < 0)
    return facet_fail("open/unlink/futimens: %s", strerror(errno)), 1;
  lseek(rw, 777, SEEK_SET);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!facet_fd_flags(rw, "read-write open", O_ACCMODE | O_APPEND, O_RDWR, 0) ||
      !facet_fd_flags(app, "append open", O_ACCMODE | O_APPEND, O_WRONLY | O_APPEND, 0))
    return 0;
  char link[512];
  facet_fdlink(rw, link, sizeof link);
  size_t ll = strlen(link);
  if (ll < 10 || strcmp(link + ll - 10, " (deleted)"))
    return facet_fail("link %s", link);
  struct stat st, dirst;
  if (fstat(rw, &st) < 0 || stat(".", &dirst) < 0)
    return facet_fail("stat: %s", strerror(errno));
  if (st.st_nlink != 0 || st.st_size != 1124 * KIB || (st.st_mode & 07777) != 0640 ||
      st.st_dev != dirst.st_dev)
    return facet_fail("nlink %lu size %lld mode 0%o dev %lx (directory on %lx)",
                      (unsigned long)st.st_nlink, (long long)st.st_size, st.st_mode & 07777,
                      (unsigned long)st.st_dev, (unsigned long)dirst.st_dev);
  if (st.st_mtim.tv_sec != times[1].tv_sec || st.st_mtim.tv_nsec != times[1].tv_nsec)
    return facet_fail("modification time %lld.%09ld", (long long)st.st_mtim.tv_sec,
                      st.st_mtim.tv_nsec);
  if (lseek(rw, 0, SEEK_CUR) != 777)
    return facet_fail("offset %lld", (long long)lseek(rw, 0, SEEK_CUR));
  static char buf[100 * KIB];
  if (pread(rw, buf, 100 * KIB, 0) != 100 * KIB || memcmp(buf, data, 100 * KIB) ||
      pread(rw, buf, 100 * KIB, 1024 * KIB) != 100 * KIB ||
      memcmp(buf, data + 100 * KIB, 100 * KIB))
    return facet_fail("contents differ");
  off_t d = lseek(rw, 100 * KIB, SEEK_DATA);
  if (d != 1024 * KIB && d != 100 * KIB) /* a filesystem may keep the hole's blocks */
    return facet_fail("data resumes at %lld", (long long)d);
  lseek(rw, 777, SEEK_SET);
  /* Appends through one open show through the other, then undone. */
  char c = 0;
  if (write(app, "A", 1) != 1 || pread(rw, &c, 1, 1124 * KIB) != 1 || c != 'A' ||
      ftruncate(rw, 1124 * KIB) < 0 || futimens(rw, times) < 0)
    return facet_fail("the two opens no longer share the file");
  if (linkat(rw, "", AT_FDCWD, "revived", AT_EMPTY_PATH) == 0) {
    unlink("revived");
    return facet_fail("the deleted file could be linked again");
  }
  return facet_pass();
}
