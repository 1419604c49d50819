/* Signals queued to one thread (not the process) stay that thread's: a
 * worker with a real-time signal blocked holds three of them, queued with
 * values, while the main thread holds none. Each check has the worker take
 * them (order, values and sender kept) and queue them to itself again. */
#include <pthread.h>
#include <stdatomic.h>

#include "facet.h"

static pid_t worker_tid;
static atomic_int ask, done;
static char why[200];
static int sig;

static int queue_to(pid_t tid, int value) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = sig;
  si.si_code = SI_QUEUE;
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_int = value;
  return (int)syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, sig, &si);
}

static void *worker(void *arg) {
  (void)arg;
  worker_tid = (pid_t)syscall(SYS_gettid);
  for (;;) {
    while (atomic_load(&ask) == atomic_load(&done))
      usleep(1000);
    why[0] = 0;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    struct timespec zero = {0, 0};
    for (int v = 1; v <= 3 && !why[0]; v++) {
      siginfo_t si;
      if (sigtimedwait(&set, &si, &zero) != sig)
        snprintf(why, sizeof why, "signal %d of 3 is not pending on the thread", v);
      else if (si.si_value.sival_int != v || si.si_code != SI_QUEUE || si.si_pid != getpid())
        snprintf(why, sizeof why, "signal %d came with value %d, code %d, pid %d", v,
                 si.si_value.sival_int, si.si_code, si.si_pid);
    }
    siginfo_t extra;
    if (!why[0] && sigtimedwait(&set, &extra, &zero) == sig)
      snprintf(why, sizeof why, "a fourth signal was pending");
    for (int v = 1; v <= 3; v++)
      queue_to(worker_tid, v);
    atomic_fetch_add(&done, 1);
  }
  return NULL;
}

FACET_SETUP(dir) {
  (void)dir;
  sig = SIGRTMIN + 3;
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, sig);
  pthread_sigmask(SIG_BLOCK, &block, &old); /* the worker inherits it */
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL))
    return facet_fail("pthread_create"), 1;
  while (!worker_tid)
    usleep(1000);
  for (int v = 1; v <= 3; v++)
    if (queue_to(worker_tid, v) < 0)
      return facet_fail("rt_tgsigqueueinfo: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  sigset_t mine;
  sigpending(&mine); /* the process's and this thread's */
  if (sigismember(&mine, sig))
    return facet_fail("the worker's signal shows as pending for the main thread");
  int want = atomic_fetch_add(&ask, 1) + 1;
  for (int i = 0; i < 5000 && atomic_load(&done) < want; i++)
    usleep(1000);
  if (atomic_load(&done) < want)
    return facet_fail("the worker (TID %d) did not answer", worker_tid);
  if (why[0])
    return facet_fail("worker %d: %s", worker_tid, why);
  return facet_pass();
}
