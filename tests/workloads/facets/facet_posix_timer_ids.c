/* The ids a process holds stay the same, gaps included; a SIGEV_NONE timer
 * keeps its deadline, a disarmed one stays disarmed, and a timer signalling
 * the main thread (SIGEV_THREAD_ID) keeps signalling it. */
#include "facet.h"
#include "facet_sigutil.h"

static timer_t t[6], tid_timer;
static int64_t deadline_none, deadline_tid;
static int holds[6] = {1, 0, 1, 0, 1, 1};

FACET_SETUP(dir) {
  (void)dir;
  struct sigevent none;
  memset(&none, 0, sizeof none);
  none.sigev_notify = SIGEV_NONE;
  for (int i = 0; i < 6; i++)
    if (timer_create(CLOCK_MONOTONIC, &none, &t[i]) < 0)
      return facet_fail("timer_create: %s", strerror(errno)), 1;
  for (int i = 0; i < 6; i++)
    if (!holds[i])
      timer_delete(t[i]);
  struct sigevent th;
  memset(&th, 0, sizeof th);
  th.sigev_notify = SIGEV_THREAD_ID;
  th.sigev_signo = SIGRTMIN + 11;
  th.sigev_value.sival_int = 4242;
  th._sigev_un._tid = (int)syscall(SYS_gettid);
  if (timer_create(CLOCK_BOOTTIME, &th, &tid_timer) < 0)
    return facet_fail("timer_create(SIGEV_THREAD_ID): %s", strerror(errno)), 1;
  deadline_none = facet_clock_ns(CLOCK_MONOTONIC) + 35000 * MS;
  deadline_tid = facet_clock_ns(CLOCK_BOOTTIME) + 50000 * MS;
  struct itimerspec a = {{0, 0}, {35, 0}}, b = {{0, 0}, {50, 0}};
  if (timer_settime(t[2], 0, &a, NULL) || timer_settime(tid_timer, 0, &b, NULL))
    return facet_fail("timer_settime: %s", strerror(errno)), 1;
  return 0;
}

static int64_t left_of(timer_t x) {
  struct itimerspec cur;
  if (timer_gettime(x, &cur) < 0)
    return -1;
  return cur.it_value.tv_sec * 1000 * MS + cur.it_value.tv_nsec;
}

FACET_CHECK(seq) {
  (void)seq;
  /* The ids /proc lists are exactly those held. */
  char buf[8192], want[256] = "", got[256] = "";
  for (int i = 0; i < 6; i++)
    if (holds[i])
      snprintf(want + strlen(want), sizeof want - strlen(want), "%d ", (int)(intptr_t)t[i]);
  snprintf(want + strlen(want), sizeof want - strlen(want), "%d ", (int)(intptr_t)tid_timer);
  FILE *f = fopen("/proc/self/timers", "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f)
    fclose(f);
  buf[n] = 0;
  int ids[16], nids = 0;
  for (char *p = buf; p && nids < 16; p = strchr(p, '\n'), p = p ? p + 1 : p)
    if (!strncmp(p, "ID: ", 4))
      ids[nids++] = atoi(p + 4);
  for (int i = 0; i < nids; i++) /* /proc lists them newest first */
    for (int j = i + 1; j < nids; j++)
      if (ids[j] < ids[i]) {
        int x = ids[i];
        ids[i] = ids[j];
        ids[j] = x;
      }
  for (int i = 0; i < nids; i++)
    snprintf(got + strlen(got), sizeof got - strlen(got), "%d ", ids[i]);
  if (strcmp(want, got))
    return facet_fail("timer ids %s, want %s", got, want);
  if (!strstr(buf, "notify: signal/tid."))
    return facet_fail("no timer signals a thread");
  int64_t l = left_of(t[2]), w = deadline_none - facet_clock_ns(CLOCK_MONOTONIC);
  if (l < w - 200 * MS || l > w + 200 * MS)
    return facet_fail("SIGEV_NONE timer: %lld ms left, want %lld", (long long)(l / MS),
                      (long long)(w / MS));
  l = left_of(tid_timer), w = deadline_tid - facet_clock_ns(CLOCK_BOOTTIME);
  if (l < w - 200 * MS || l > w + 200 * MS)
    return facet_fail("thread timer: %lld ms left, want %lld", (long long)(l / MS),
                      (long long)(w / MS));
  if (left_of(t[0]) != 0 || left_of(t[5]) != 0)
    return facet_fail("a disarmed timer is armed");
  return facet_pass();
}
