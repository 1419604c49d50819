/* A POSIX timer that signals a thread other than the main one
 * (SIGEV_THREAD_ID) keeps its id and keeps signalling that thread: a worker
 * takes its signals with sigwaitinfo, and each check sees new ones arrive
 * from that timer, with its value, while /proc/self/timers still names a
 * thread as its target. A second timer, made after it, signals the main
 * thread's process and keeps its id too. */
#include "facet.h"
#include "facet_sigutil.h"

#include <stdatomic.h>

#define SIG (SIGRTMIN + 4)

static timer_t worker_timer, later_timer;
static pthread_t worker;
static volatile pid_t worker_tid;
static atomic_uint fires;
static atomic_int last_timerid, last_value, wrong;

static void *worker_main(void *arg) {
  (void)arg;
  worker_tid = (pid_t)syscall(SYS_gettid);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIG);
  for (;;) {
    siginfo_t si;
    if (sigwaitinfo(&set, &si) < 0)
      continue;
    if (si.si_code != SI_TIMER)
      atomic_store(&wrong, si.si_code);
    atomic_store(&last_timerid, si.si_timerid);
    atomic_store(&last_value, si.si_value.sival_int);
    atomic_fetch_add(&fires, 1);
  }
  return NULL;
}

FACET_SETUP(dir) {
  (void)dir;
  sigset_t set; /* the worker's signal: never the main thread's */
  sigemptyset(&set);
  sigaddset(&set, SIG);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  if (facet_thread(&worker, NULL, worker_main, NULL))
    return facet_fail("pthread_create"), 1;
  while (!worker_tid)
    usleep(1000);
  struct sigevent th;
  memset(&th, 0, sizeof th);
  th.sigev_notify = SIGEV_THREAD_ID;
  th.sigev_signo = SIG;
  th.sigev_value.sival_int = 7117;
  th._sigev_un._tid = worker_tid;
  struct sigevent none;
  memset(&none, 0, sizeof none);
  none.sigev_notify = SIGEV_NONE;
  if (timer_create(CLOCK_MONOTONIC, &th, &worker_timer) < 0 ||
      timer_create(CLOCK_MONOTONIC, &none, &later_timer) < 0)
    return facet_fail("timer_create: %s", strerror(errno)), 1;
  struct itimerspec every = {{0, 20 * MS}, {0, 20 * MS}};
  if (timer_settime(worker_timer, 0, &every, NULL) < 0)
    return facet_fail("timer_settime: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  unsigned before = atomic_load(&fires);
  for (int i = 0; i < 200 && atomic_load(&fires) < before + 3; i++)
    usleep(5000);
  if (atomic_load(&fires) < before + 3)
    return facet_fail("the worker got %u timer signals in 1 s (20 ms period)",
                      atomic_load(&fires) - before);
  if (atomic_load(&wrong))
    return facet_fail("the worker took a signal with si_code %d", atomic_load(&wrong));
  if (atomic_load(&last_timerid) != (int)(intptr_t)worker_timer ||
      atomic_load(&last_value) != 7117)
    return facet_fail("the signal came from timer %d with value %d, expected %d and 7117",
                      atomic_load(&last_timerid), atomic_load(&last_value),
                      (int)(intptr_t)worker_timer);
  struct itimerspec cur;
  if (timer_gettime(worker_timer, &cur) < 0 || cur.it_interval.tv_nsec != 20 * MS)
    return facet_fail("timer %d is gone or lost its period", (int)(intptr_t)worker_timer);
  if (timer_gettime(later_timer, &cur) < 0)
    return facet_fail("timer %d is gone", (int)(intptr_t)later_timer);
  /* /proc/self/timers: the timer still signals a thread (its number is
   * /proc's view of it, which may not be the thread's own). */
  char buf[8192];
  if (facet_read_file("/proc/self/timers", buf, sizeof buf) <= 0)
    return facet_fail("/proc/self/timers: %s", strerror(errno));
  char want[64];
  snprintf(want, sizeof want, "ID: %d\nsignal: %d/", (int)(intptr_t)worker_timer, SIG);
  char *at = strstr(buf, want);
  if (!at || !strstr(at, "notify: signal/tid."))
    return facet_fail("/proc/self/timers lacks a thread-directed timer %d:\n%s",
                      (int)(intptr_t)worker_timer, buf);
  return facet_pass();
}
