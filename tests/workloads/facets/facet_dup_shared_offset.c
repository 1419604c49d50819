/* fds sharing one open file description (dup) keep sharing its offset. */
#include "facet.h"

static int a, b;

FACET_SETUP(dir) {
  (void)dir;
  a = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
  char buf[8192];
  memset(buf, 'x', sizeof buf);
  if (a < 0 || write(a, buf, sizeof buf) != sizeof buf)
    return facet_fail("setup"), 1;
  lseek(a, 100, SEEK_SET);
  b = dup(a);
  return 0;
}

FACET_CHECK(seq) {
  off_t want = 100 + 10 * (off_t)(seq - 1);
  if (lseek(b, 0, SEEK_CUR) != want)
    return facet_fail("dup offset %lld, expected %lld", (long long)lseek(b, 0, SEEK_CUR),
                      (long long)want);
  lseek(a, 10, SEEK_CUR);
  if (lseek(b, 0, SEEK_CUR) != want + 10)
    return facet_fail("moving one fd no longer moves its dup");
  return facet_pass();
}
