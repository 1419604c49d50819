/* POSIX timers keep their id, clock, signal and value, and their
 * deadlines: a relative CLOCK_MONOTONIC one, an absolute CLOCK_REALTIME
 * periodic one, and a 20 ms periodic one whose signals keep coming to the
 * handler with the right siginfo. */
#include "facet.h"
#include "facet_sigutil.h"

static timer_t ta, tb, tc;
static int64_t deadline_a, deadline_b;
static volatile sig_atomic_t ticks, bad;

static void on_tick(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (sig != SIGUSR2 || si->si_code != SI_TIMER || si->si_value.sival_int != 0x77 ||
      si->si_timerid != (int)(intptr_t)tc)
    bad++;
  ticks += 1 + si->si_overrun;
}

static int make(timer_t *t, clockid_t c, int sig, union sigval v) {
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = sig;
  ev.sigev_value = v;
  return timer_create(c, &ev, t);
}

FACET_SETUP(dir) {
  (void)dir;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_tick;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGUSR2, &sa, NULL);
  if (make(&ta, CLOCK_MONOTONIC, SIGRTMIN + 6, (union sigval){.sival_int = 0x1234abcd}) ||
      make(&tb, CLOCK_REALTIME, SIGRTMIN + 7, (union sigval){.sival_ptr = (void *)0x55aa55aa55ull}) ||
      make(&tc, CLOCK_MONOTONIC, SIGUSR2, (union sigval){.sival_int = 0x77}))
    return facet_fail("timer_create: %s", strerror(errno)), 1;
  struct itimerspec a = {{0, 0}, {40, 0}}, c = {{0, 20 * MS}, {0, 20 * MS}};
  deadline_a = facet_clock_ns(CLOCK_MONOTONIC) + 40000 * MS;
  deadline_b = facet_clock_ns(CLOCK_REALTIME) + 45000 * MS;
  struct itimerspec b = {{2, 0}, {deadline_b / (1000 * MS), deadline_b % (1000 * MS)}};
  if (timer_settime(ta, 0, &a, NULL) || timer_settime(tb, TIMER_ABSTIME, &b, NULL) ||
      timer_settime(tc, 0, &c, NULL))
    return facet_fail("timer_settime: %s", strerror(errno)), 1;
  return 0;
}

static int left_ok(timer_t t, const char *name, int64_t want, long isec) {
  struct itimerspec cur;
  if (timer_gettime(t, &cur) < 0)
    return facet_fail("timer_gettime(%s): %s", name, strerror(errno));
  int64_t left = cur.it_value.tv_sec * 1000 * MS + cur.it_value.tv_nsec;
  if (left < want - 200 * MS || left > want + 200 * MS || cur.it_interval.tv_sec != isec ||
      cur.it_interval.tv_nsec)
    return facet_fail("timer %s: %lld ms left (want %lld), interval %lds", name,
                      (long long)(left / MS), (long long)(want / MS), (long)cur.it_interval.tv_sec);
  return 1;
}

/* Its line in /proc/self/timers says signal SIG/VALUE and clock CLOCK. */
static int proc_ok(timer_t t, int sig, unsigned long long value, int clock) {
  char want[128], buf[8192];
  snprintf(want, sizeof want, "ID: %d\nsignal: %d/%016llx\n", (int)(intptr_t)t, sig, value);
  FILE *f = fopen("/proc/self/timers", "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f)
    fclose(f);
  buf[n] = 0;
  char *at = strstr(buf, want);
  char clk[32];
  snprintf(clk, sizeof clk, "ClockID: %d\n", clock);
  char *c = at ? strstr(at, "ClockID: ") : NULL;
  if (!at || !c || strncmp(c, clk, strlen(clk)))
    return facet_fail("/proc/self/timers lacks \"%s\" on clock %d", want, clock);
  return 1;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!left_ok(ta, "A", deadline_a - facet_clock_ns(CLOCK_MONOTONIC), 0) ||
      !left_ok(tb, "B", deadline_b - facet_clock_ns(CLOCK_REALTIME), 2) ||
      !proc_ok(ta, SIGRTMIN + 6, 0x1234abcd, CLOCK_MONOTONIC) ||
      !proc_ok(tb, SIGRTMIN + 7, 0x55aa55aa55ull, CLOCK_REALTIME) ||
      !proc_ok(tc, SIGUSR2, 0x77, CLOCK_MONOTONIC))
    return 0;
  /* The fast one keeps ticking, with its own siginfo. */
  int before = ticks;
  for (int i = 0; i < 100 && ticks == before; i++) {
    struct timespec ts = {0, 10 * MS};
    nanosleep(&ts, NULL);
  }
  if (ticks == before)
    return facet_fail("the 20 ms timer stopped (%d ticks)", before);
  if (bad)
    return facet_fail("%d ticks with a wrong siginfo", (int)bad);
  return facet_pass();
}
