/* A POSIX timer on a CPU-time clock: lmig refuses it by name before the
 * freeze (its deadline is in CPU time of a process that starts anew). */
#include "facet.h"
#include "facet_sigutil.h"

static timer_t t;

FACET_SETUP(dir) {
  (void)dir;
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_NONE;
  if (timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &t) < 0)
    return facet_fail("timer_create: %s", strerror(errno)), 1;
  struct itimerspec its = {{0, 0}, {100, 0}};
  return timer_settime(t, 0, &its, NULL) < 0;
}

FACET_CHECK(seq) {
  (void)seq;
  struct itimerspec cur;
  if (timer_gettime(t, &cur) < 0 || cur.it_value.tv_sec < 90 || cur.it_value.tv_sec > 100)
    return facet_fail("CPU-time timer has %lds left", (long)cur.it_value.tv_sec);
  return facet_pass();
}
