/* Four threads busy in different ways (asleep in nanosleep, blocked on a futex, blocked reading a pipe, computing with AVX-512 or AVX2) all carry on with their TIDs. */
#include "facet_threads.h"

static struct facet_worker workers[4];

FACET_SETUP(dir) {
  (void)dir;
  if (fw_start(&workers[0], FW_SLEEPER))
    return 1;
  if (fw_start(&workers[1], FW_FUTEX))
    return 1;
  if (fw_start(&workers[2], FW_PIPE))
    return 1;
  if (fw_start(&workers[3], FW_SIMD))
    return 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  for (int i = 0; i < 4; i++)
    if (!fw_check(&workers[i]))
      return 0;
  return facet_pass();
}
