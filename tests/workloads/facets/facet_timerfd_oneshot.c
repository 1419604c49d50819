/* A one-shot CLOCK_MONOTONIC timerfd armed 3 s ahead fires at its original
 * deadline, however long the move took, and only once. */
#define FACET_HAS_IDLE
#include <poll.h>
#include <sys/timerfd.h>

#include "facet.h"
#include "facet_fdutil.h"

#define MS 1000000ll

static int tfd;
static int64_t deadline, fired_at, last_idle, gap_before_fire;
static int fired;

FACET_SETUP(dir) {
  (void)dir;
  tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct itimerspec its = {{0, 0}, {3, 0}};
  if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0)
    return facet_fail("timerfd: %s", strerror(errno)), 1;
  deadline = (int64_t)facet_now_ns(CLOCK_MONOTONIC) + 3000 * MS;
  last_idle = (int64_t)facet_now_ns(CLOCK_MONOTONIC);
  return 0;
}

/* Reads the expiration if there is one; notes when it was seen. */
static void take(void) {
  uint64_t n = 0;
  if (read(tfd, &n, 8) == 8 && n) {
    int64_t now = (int64_t)facet_now_ns(CLOCK_MONOTONIC);
    fired += (int)n;
    if (!fired_at) {
      fired_at = now;
      gap_before_fire = now - last_idle; /* large: the process was frozen meanwhile */
    }
  }
}

FACET_IDLE() {
  struct pollfd p = {tfd, POLLIN, 0};
  poll(&p, 1, 1);
  take();
  last_idle = (int64_t)facet_now_ns(CLOCK_MONOTONIC);
}

FACET_CHECK(seq) {
  if (!facet_fd_flags(tfd, "timerfd", O_NONBLOCK, O_NONBLOCK, 1))
    return 0;
  char clock[16];
  facet_fdinfo(tfd, "clockid:", clock, sizeof clock);
  if (strcmp(clock, "1"))
    return facet_fail("clockid %s", clock);
  if (!fired) {
    /* The deadline the timer has, bracketed by clock readings around it. */
    struct itimerspec cur;
    int64_t before = (int64_t)facet_now_ns(CLOCK_MONOTONIC);
    timerfd_gettime(tfd, &cur);
    int64_t after = (int64_t)facet_now_ns(CLOCK_MONOTONIC);
    int64_t left = cur.it_value.tv_sec * 1000 * MS + cur.it_value.tv_nsec;
    if (before + left > deadline + 2 * MS || after + left < deadline - 2 * MS)
      return facet_fail("%lld ms left, the deadline is %lld ms away", (long long)(left / MS),
                        (long long)((deadline - after) / MS));
    if (seq == 1)
      return facet_pass(); /* on the source, long before the deadline */
    /* After the move: wait for it. */
    struct pollfd p = {tfd, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1)
      return facet_fail("did not fire within 10 s");
    take();
  }
  int64_t late = fired_at - deadline;
  if (late < -1 * MS)
    return facet_fail("fired %lld us early", (long long)(-late / 1000));
  if (late > 250 * MS && gap_before_fire < 50 * MS) /* wake-up latency of a loaded host */
    return facet_fail("fired %lld ms late", (long long)(late / MS));
  if (fired != 1)
    return facet_fail("fired %d times", fired);
  struct itimerspec cur;
  timerfd_gettime(tfd, &cur);
  if (cur.it_value.tv_sec || cur.it_value.tv_nsec || cur.it_interval.tv_sec ||
      cur.it_interval.tv_nsec)
    return facet_fail("still armed after firing");
  return facet_pass();
}
