/* A thread blocked on a condition variable (FUTEX_WAIT) still wakes when signalled. */
#include "facet_threads.h"

static struct facet_worker workers[1];

FACET_SETUP(dir) {
  (void)dir;
  if (fw_start(&workers[0], FW_FUTEX))
    return 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  for (int i = 0; i < 1; i++)
    if (!fw_check(&workers[i]))
      return 0;
  return facet_pass();
}
