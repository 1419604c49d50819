/* A process with a SIGTRAP handler (as debuggers' helpers and some
 * runtimes have) runs on after the move, and its handler still catches
 * the traps it raises itself. */
#include "facet.h"

static volatile sig_atomic_t traps;

static void on_trap(int sig) {
  (void)sig;
  traps++;
}

FACET_SETUP(dir) {
  (void)dir;
  struct sigaction sa = {0};
  sa.sa_handler = on_trap;
  if (sigaction(SIGTRAP, &sa, NULL) < 0)
    return facet_fail("sigaction: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  sig_atomic_t before = traps;
  __asm__ volatile("int3");
  if (traps != before + 1)
    return facet_fail("int3 raised %d traps", (int)(traps - before));
  return facet_pass();
}
