/* A periodic timer's overrun count (timer_getoverrun: expirations its last
 * signal stood for, beyond the first) is kept, and so is its phase. */
#include "facet.h"
#include "facet_sigutil.h"

#define PERIOD (20000 * MS)

static timer_t t;
static int64_t first;

FACET_SETUP(dir) {
  (void)dir;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN + 8);
  sigprocmask(SIG_BLOCK, &set, NULL);
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGRTMIN + 8;
  if (timer_create(CLOCK_REALTIME, &ev, &t) < 0)
    return facet_fail("timer_create: %s", strerror(errno)), 1;
  /* First expiry 3.5 periods ago: it fires at once, 3 more periods behind. */
  first = facet_clock_ns(CLOCK_REALTIME) - 3 * PERIOD - PERIOD / 2;
  struct itimerspec its = {{PERIOD / (1000 * MS), 0}, {first / (1000 * MS), first % (1000 * MS)}};
  if (timer_settime(t, TIMER_ABSTIME, &its, NULL) < 0)
    return facet_fail("timer_settime: %s", strerror(errno)), 1;
  siginfo_t si;
  struct timespec wait = {2, 0};
  if (sigtimedwait(&set, &si, &wait) != SIGRTMIN + 8 || si.si_overrun != 3)
    return facet_fail("took overrun %d", si.si_overrun), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  int ov = timer_getoverrun(t);
  if (ov != 3)
    return facet_fail("timer_getoverrun %d, 3 expected", ov);
  struct itimerspec cur;
  timer_gettime(t, &cur);
  int64_t left = cur.it_value.tv_sec * 1000 * MS + cur.it_value.tv_nsec;
  int64_t want = first + 4 * PERIOD - facet_clock_ns(CLOCK_REALTIME);
  if (left < want - 200 * MS || left > want + 200 * MS)
    return facet_fail("%lld ms to the next expiry, %lld expected", (long long)(left / MS),
                      (long long)(want / MS));
  if (cur.it_interval.tv_sec * 1000 * MS + cur.it_interval.tv_nsec != PERIOD)
    return facet_fail("interval %lds", (long)cur.it_interval.tv_sec);
  if (facet_status_mask("ShdPnd:") & SIGBIT(SIGRTMIN + 8))
    return facet_fail("a signal is queued that should not be");
  return facet_pass();
}
