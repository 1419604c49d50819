/* A periodic absolute CLOCK_MONOTONIC timerfd (10 ms) keeps its phase, and
 * counts every period that passed, those of the move included. */
#include <sys/timerfd.h>

#include "facet.h"
#include "facet_fdutil.h"

#define MS 1000000ll
#define PERIOD (10 * MS)

static int tfd;
static int64_t first;
static uint64_t total;

FACET_SETUP(dir) {
  (void)dir;
  tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  first = (int64_t)facet_now_ns(CLOCK_MONOTONIC) + 100 * MS;
  struct itimerspec its = {{0, PERIOD}, {first / (1000 * MS), first % (1000 * MS)}};
  if (tfd < 0 || timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
    return facet_fail("timerfd: %s", strerror(errno)), 1;
  return 0;
}

static int64_t expected_at(int64_t t) { return t < first ? 0 : (t - first) / PERIOD + 1; }

FACET_CHECK(seq) {
  (void)seq;
  if (!facet_fd_flags(tfd, "timerfd", O_NONBLOCK, O_NONBLOCK, 0))
    return 0;
  char flags[16], clock[16];
  facet_fdinfo(tfd, "settime flags:", flags, sizeof flags);
  facet_fdinfo(tfd, "clockid:", clock, sizeof clock);
  if (strcmp(flags, "01") || strcmp(clock, "1"))
    return facet_fail("settime flags %s, clockid %s", flags, clock);
  int64_t t0 = (int64_t)facet_now_ns(CLOCK_MONOTONIC);
  uint64_t n = 0;
  if (read(tfd, &n, 8) == 8)
    total += n;
  int64_t t1 = (int64_t)facet_now_ns(CLOCK_MONOTONIC);
  /* An expiration may be handled a little after its time, never before. */
  if ((int64_t)total < expected_at(t0 - 2 * MS) || (int64_t)total > expected_at(t1))
    return facet_fail("%llu expirations counted, %lld expected", (unsigned long long)total,
                      (long long)expected_at(t0));
  /* The next expiration, bracketed by clock readings, falls on the period's
   * phase. */
  struct itimerspec cur;
  int64_t before = (int64_t)facet_now_ns(CLOCK_MONOTONIC);
  timerfd_gettime(tfd, &cur);
  int64_t after = (int64_t)facet_now_ns(CLOCK_MONOTONIC);
  int64_t left = cur.it_value.tv_sec * 1000 * MS + cur.it_value.tv_nsec;
  int64_t lo = before + left - first - MS / 2, hi = after + left - first + MS / 2;
  if (hi < 0 || (hi / PERIOD) * PERIOD < lo)
    return facet_fail("next expiration %lld us off the period's phase",
                      (long long)(((after + left - first) % PERIOD) / 1000));
  if (cur.it_interval.tv_sec || cur.it_interval.tv_nsec != PERIOD)
    return facet_fail("interval %lld.%09ld", (long long)cur.it_interval.tv_sec,
                      cur.it_interval.tv_nsec);
  return facet_pass();
}
