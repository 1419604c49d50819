/* A thread asleep in nanosleep wakes neither early nor much late. */
#include "facet_threads.h"

static struct facet_worker workers[1];

FACET_SETUP(dir) {
  (void)dir;
  if (fw_start(&workers[0], FW_SLEEPER))
    return 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  for (int i = 0; i < 1; i++)
    if (!fw_check(&workers[i]))
      return 0;
  /* late by the time the move took at most (and a noisy machine) */
  if (workers[0].max_late_ns > 2000ll * 1000000)
    return facet_fail("a 300 ms nanosleep ended %lld ms late", workers[0].max_late_ns / 1000000);
  return facet_pass();
}
