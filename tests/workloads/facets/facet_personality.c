/* The execution domain flags set with personality() are kept: no address
 * randomization and UNAME26 (uname reports a 2.6 release), which the
 * process sees. */
#include <sys/personality.h>
#include <sys/utsname.h>

#include "facet.h"

static const unsigned long kPers = PER_LINUX | ADDR_NO_RANDOMIZE | UNAME26;

FACET_SETUP(dir) {
  (void)dir;
  if (personality(kPers) < 0)
    return facet_fail("personality: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  int p = personality(0xffffffff);
  if (p < 0)
    return facet_fail("personality: %s", strerror(errno));
  if ((unsigned long)p != kPers)
    return facet_fail("personality 0x%x, expected 0x%lx", p, kPers);
  struct utsname u;
  if (uname(&u) < 0)
    return facet_fail("uname: %s", strerror(errno));
  if (strncmp(u.release, "2.6.", 4))
    return facet_fail("uname release '%s' despite UNAME26", u.release);
  return facet_pass();
}
