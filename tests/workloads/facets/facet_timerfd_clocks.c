/* timerfds on other clocks and in other states: an absolute CLOCK_REALTIME
 * one an hour ahead, cancelled if the clock is set (its deadline and flags
 * are kept); a CLOCK_BOOTTIME one-shot that fired and was not read yet
 * (still one expiration to read); one never armed. */
#include <poll.h>
#include <sys/timerfd.h>

#include "facet.h"
#include "facet_fdutil.h"

#define MS 1000000ll

static int rt, bt, idle_tfd;
static int64_t rt_deadline;

FACET_SETUP(dir) {
  (void)dir;
  rt = timerfd_create(CLOCK_REALTIME, 0);
  bt = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
  idle_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  rt_deadline = (int64_t)facet_now_ns(CLOCK_REALTIME) + 3600 * 1000 * MS;
  struct itimerspec abs = {{0, 0}, {rt_deadline / (1000 * MS), rt_deadline % (1000 * MS)}};
  struct itimerspec soon = {{0, 0}, {0, 1 * MS}};
  if (rt < 0 || bt < 0 || idle_tfd < 0 ||
      timerfd_settime(rt, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &abs, NULL) < 0 ||
      timerfd_settime(bt, 0, &soon, NULL) < 0)
    return facet_fail("timerfd: %s", strerror(errno)), 1;
  struct pollfd p = {bt, POLLIN, 0};
  if (poll(&p, 1, 1000) != 1)
    return facet_fail("the boot-time timer did not fire"), 1;
  return 0;
}

static int info_is(int fd, const char *key, const char *want) {
  char v[64];
  facet_fdinfo(fd, key, v, sizeof v);
  if (strcmp(v, want))
    return facet_fail("fd %d: %s %s, expected %s", fd, key, v, want);
  return 1;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!facet_fd_flags(rt, "real-time timerfd", O_NONBLOCK, 0, 0) ||
      !facet_fd_flags(bt, "boot-time timerfd", O_NONBLOCK, O_NONBLOCK, 0) ||
      !facet_fd_flags(idle_tfd, "unarmed timerfd", O_NONBLOCK, 0, 1))
    return 0;
  if (!info_is(rt, "clockid:", "0") || !info_is(rt, "settime flags:", "03") ||
      !info_is(bt, "clockid:", "7") || !info_is(bt, "ticks:", "1") ||
      !info_is(idle_tfd, "ticks:", "0"))
    return 0;
  struct itimerspec cur;
  int64_t before = (int64_t)facet_now_ns(CLOCK_REALTIME);
  timerfd_gettime(rt, &cur);
  int64_t after = (int64_t)facet_now_ns(CLOCK_REALTIME);
  int64_t left = cur.it_value.tv_sec * 1000 * MS + cur.it_value.tv_nsec;
  if (before + left > rt_deadline + 2 * MS || after + left < rt_deadline - 2 * MS)
    return facet_fail("the real-time deadline moved by %lld us",
                      (long long)((after + left - rt_deadline) / 1000));
  struct pollfd p[2] = {{bt, POLLIN, 0}, {idle_tfd, POLLIN, 0}};
  if (poll(p, 2, 0) != 1 || !(p[0].revents & POLLIN))
    return facet_fail("readable: boot-time %d, unarmed %d", p[0].revents, p[1].revents);
  timerfd_gettime(bt, &cur);
  if (cur.it_value.tv_sec || cur.it_value.tv_nsec)
    return facet_fail("the fired one-shot is armed again");
  timerfd_gettime(idle_tfd, &cur);
  if (cur.it_value.tv_sec || cur.it_value.tv_nsec)
    return facet_fail("the unarmed timer is armed");
  return facet_pass();
}
