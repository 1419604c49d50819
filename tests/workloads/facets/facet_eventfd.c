/* eventfds keep their counter (beyond 32 bits too) and their flags: a
 * non-blocking close-on-exec one holding 2^32 + 5, a blocking one at 0. */
#include <poll.h>
#include <sys/eventfd.h>

#include "facet.h"
#include "facet_fdutil.h"

static int big, zero;
static const uint64_t kBig = (1ull << 32) + 5;

FACET_SETUP(dir) {
  (void)dir;
  big = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  zero = eventfd(0, 0);
  if (big < 0 || zero < 0 || write(big, &kBig, 8) != 8)
    return facet_fail("eventfd: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!facet_fd_flags(big, "counting eventfd", O_ACCMODE | O_NONBLOCK, O_RDWR | O_NONBLOCK, 1) ||
      !facet_fd_flags(zero, "empty eventfd", O_ACCMODE | O_NONBLOCK, O_RDWR, 0))
    return 0;
  char sem[32];
  facet_fdinfo(big, "eventfd-semaphore:", sem, sizeof sem);
  if (strcmp(sem, "0"))
    return facet_fail("eventfd-semaphore is '%s'", sem);
  struct pollfd p = {zero, POLLIN, 0};
  if (poll(&p, 1, 0) != 0)
    return facet_fail("the empty eventfd is readable");
  uint64_t v = 0;
  if (read(big, &v, 8) != 8)
    return facet_fail("read: %s", strerror(errno));
  if (v != kBig)
    return facet_fail("counter %llu, expected %llu", (unsigned long long)v,
                      (unsigned long long)kBig);
  if (read(big, &v, 8) != -1 || errno != EAGAIN)
    return facet_fail("a second read did not find it empty");
  if (write(big, &kBig, 8) != 8)
    return facet_fail("write back: %s", strerror(errno));
  return facet_pass();
}
