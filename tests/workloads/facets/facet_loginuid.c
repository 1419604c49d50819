/* The audit login uid (what auditing ties the process to, set at login):
 * 1234 here, kept across the move rather than becoming lmigd's. */
#include "facet.h"

static int read_loginuid(unsigned long *out) {
  char buf[32] = "";
  int f = open("/proc/self/loginuid", O_RDONLY | O_CLOEXEC);
  ssize_t n = f < 0 ? -1 : read(f, buf, sizeof buf - 1);
  if (f >= 0)
    close(f);
  if (n <= 0)
    return 0;
  *out = strtoul(buf, NULL, 10);
  return 1;
}

FACET_SETUP(dir) {
  (void)dir;
  int f = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);
  if (f < 0 || write(f, "1234", 4) != 4)
    return facet_fail("set loginuid: %s", strerror(errno)), 1;
  close(f);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  unsigned long uid = 0;
  if (!read_loginuid(&uid))
    return facet_fail("read loginuid: %s", strerror(errno));
  if (uid != 1234)
    return facet_fail("loginuid %lu, expected 1234", uid);
  return facet_pass();
}
