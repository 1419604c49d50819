/* A timer's signal queued while blocked stays queued, as the timer's own
 * (SI_TIMER, its id and value, no overrun): a one-shot timer that fired,
 * and a periodic one that keeps its next expiry. */
#include "facet.h"
#include "facet_sigutil.h"

#define PERIOD (30000 * MS)

static timer_t once, every;
static int64_t first;

static int make(timer_t *t, clockid_t c, int sig, int value) {
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = sig;
  ev.sigev_value.sival_int = value;
  return timer_create(c, &ev, t);
}

static int wait_queued(int sig) {
  for (int i = 0; i < 1000; i++) {
    if (facet_status_mask("ShdPnd:") & SIGBIT(sig))
      return 1;
    struct timespec ts = {0, MS};
    nanosleep(&ts, NULL);
  }
  return facet_fail("signal %d never queued", sig);
}

/* Arms them so that both queue their signal now. */
static int fire(void) {
  struct itimerspec o = {{0, 0}, {0, 1}};
  struct itimerspec e = {{PERIOD / (1000 * MS), 0},
                         {(first - PERIOD) / (1000 * MS), (first - PERIOD) % (1000 * MS)}};
  if (timer_settime(once, 0, &o, NULL) || timer_settime(every, TIMER_ABSTIME, &e, NULL))
    return facet_fail("timer_settime: %s", strerror(errno));
  return wait_queued(SIGRTMIN + 9) && wait_queued(SIGRTMIN + 10);
}

FACET_SETUP(dir) {
  (void)dir;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN + 9);
  sigaddset(&set, SIGRTMIN + 10);
  sigprocmask(SIG_BLOCK, &set, NULL);
  if (make(&once, CLOCK_MONOTONIC, SIGRTMIN + 9, 555) ||
      make(&every, CLOCK_REALTIME, SIGRTMIN + 10, 666))
    return facet_fail("timer_create: %s", strerror(errno)), 1;
  first = facet_clock_ns(CLOCK_REALTIME) + PERIOD / 2; /* the next expiry */
  return fire() ? 0 : 1;
}

static int take(timer_t t, int sig, int value) {
  siginfo_t si, more;
  if (!facet_take(sig, &si))
    return facet_fail("signal %d not queued", sig);
  if (facet_take(sig, &more))
    return facet_fail("signal %d queued twice", sig);
  if (si.si_code != SI_TIMER || si.si_timerid != (int)(intptr_t)t ||
      si.si_value.sival_int != value || si.si_overrun != 0)
    return facet_fail("signal %d: code %d timer %d value %d overrun %d", sig, si.si_code,
                      si.si_timerid, si.si_value.sival_int, si.si_overrun);
  return 1;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!take(once, SIGRTMIN + 9, 555) || !take(every, SIGRTMIN + 10, 666))
    return 0;
  struct itimerspec cur;
  timer_gettime(every, &cur);
  int64_t left = cur.it_value.tv_sec * 1000 * MS + cur.it_value.tv_nsec;
  int64_t want = first - facet_clock_ns(CLOCK_REALTIME);
  if (left < want - 200 * MS || left > want + 200 * MS)
    return facet_fail("%lld ms to the next expiry, %lld expected", (long long)(left / MS),
                      (long long)(want / MS));
  timer_gettime(once, &cur);
  if (cur.it_value.tv_sec || cur.it_value.tv_nsec)
    return facet_fail("the one-shot timer is armed again");
  return fire() ? facet_pass() : 0;
}
