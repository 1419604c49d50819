/* A semaphore eventfd (EFD_SEMAPHORE) still counts down by one per read. */
#include <sys/eventfd.h>

#include "facet.h"
#include "facet_fdutil.h"

static int sem;

FACET_SETUP(dir) {
  (void)dir;
  sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
  return sem < 0 ? (facet_fail("eventfd: %s", strerror(errno)), 1) : 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!facet_fd_flags(sem, "semaphore eventfd", O_NONBLOCK, O_NONBLOCK, 0))
    return 0;
  char info[32];
  facet_fdinfo(sem, "eventfd-semaphore:", info, sizeof info);
  if (strcmp(info, "1"))
    return facet_fail("eventfd-semaphore is '%s'", info);
  for (int i = 0; i < 3; i++) {
    uint64_t v = 0;
    if (read(sem, &v, 8) != 8 || v != 1)
      return facet_fail("read %d gave %llu (%s), expected 1", i, (unsigned long long)v,
                        strerror(errno));
  }
  uint64_t v;
  if (read(sem, &v, 8) != -1 || errno != EAGAIN)
    return facet_fail("a fourth read did not find it at 0");
  uint64_t three = 3;
  if (write(sem, &three, 8) != 8)
    return facet_fail("write back: %s", strerror(errno));
  return facet_pass();
}
