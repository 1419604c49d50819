/* ITIMER_REAL keeps its interval and its deadline in wall-clock time: it
 * will fire about when it would have without the move. */
#include <sys/time.h>

#include "facet.h"
#include "facet_sigutil.h"

static int64_t deadline;
static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

FACET_SETUP(dir) {
  (void)dir;
  signal(SIGALRM, on_alarm);
  struct itimerval v = {{7, 250000}, {30, 0}};
  deadline = facet_clock_ns(CLOCK_MONOTONIC) + 30000 * MS;
  if (setitimer(ITIMER_REAL, &v, NULL) < 0)
    return facet_fail("setitimer: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  struct itimerval v;
  getitimer(ITIMER_REAL, &v);
  int64_t left = v.it_value.tv_sec * 1000 * MS + v.it_value.tv_usec * 1000ll;
  int64_t want = deadline - facet_clock_ns(CLOCK_MONOTONIC);
  if (v.it_interval.tv_sec != 7 || v.it_interval.tv_usec != 250000)
    return facet_fail("interval %ld.%06ld", (long)v.it_interval.tv_sec, (long)v.it_interval.tv_usec);
  if (left < want - 200 * MS || left > want + 200 * MS)
    return facet_fail("%lld ms left, %lld expected", (long long)(left / MS), (long long)(want / MS));
  if (alarms)
    return facet_fail("SIGALRM came %d times before its time", (int)alarms);
  return facet_pass();
}
