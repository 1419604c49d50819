/* Scheduling and OOM standing: each thread keeps its own policy and nice
 * value (the main thread nice 3, one thread SCHED_BATCH at nice 7, one
 * SCHED_IDLE with SCHED_RESET_ON_FORK), and the process its oom_score_adj
 * and PR_SET_THP_DISABLE. */
#include <sched.h>
#include <sys/resource.h>

#include "facet.h"

struct worker {
  int policy, nice;
  pthread_t th;
  volatile pid_t tid;
};
static struct worker workers[] = {{SCHED_BATCH, 7, 0, 0},
                                  {SCHED_IDLE | SCHED_RESET_ON_FORK, 0, 0, 0}};

static void *worker_main(void *arg) {
  struct worker *w = arg;
  struct sched_param p = {0};
  if (sched_setscheduler(0, w->policy, &p) == 0 && setpriority(PRIO_PROCESS, 0, w->nice) == 0)
    w->tid = (pid_t)syscall(SYS_gettid);
  else
    w->tid = -1;
  for (;;)
    pause();
  return NULL;
}

static int thread_is(pid_t tid, const char *who, int policy, int nice) {
  int have = sched_getscheduler(tid);
  errno = 0;
  int n = getpriority(PRIO_PROCESS, (id_t)tid);
  if (have != policy || n != nice)
    return facet_fail("%s (TID %d): policy %d nice %d, expected policy %d nice %d", who, tid,
                      have, n, policy, nice);
  return 1;
}

FACET_SETUP(dir) {
  (void)dir;
  if (setpriority(PRIO_PROCESS, 0, 3) < 0 || prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0)
    return facet_fail("setpriority/prctl: %s", strerror(errno)), 1;
  int f = open("/proc/self/oom_score_adj", O_WRONLY);
  if (f < 0 || write(f, "321", 3) != 3)
    return facet_fail("oom_score_adj: %s", strerror(errno)), 1;
  close(f);
  for (int i = 0; i < 2; i++) {
    if (facet_thread(&workers[i].th, NULL, worker_main, &workers[i]))
      return facet_fail("pthread_create"), 1;
    for (int k = 0; k < 5000 && !workers[i].tid; k++)
      usleep(1000);
    if (workers[i].tid <= 0)
      return facet_fail("worker %d could not set its scheduling", i), 1;
  }
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!thread_is((pid_t)syscall(SYS_gettid), "main thread", SCHED_OTHER, 3) ||
      !thread_is(workers[0].tid, "batch thread", SCHED_BATCH, 7) ||
      !thread_is(workers[1].tid, "idle thread", SCHED_IDLE | SCHED_RESET_ON_FORK, 0))
    return 0;
  if (prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != 1)
    return facet_fail("transparent huge pages are no longer disabled");
  char buf[16] = "";
  int f = open("/proc/self/oom_score_adj", O_RDONLY);
  ssize_t n = f < 0 ? -1 : read(f, buf, sizeof buf - 1);
  if (f >= 0)
    close(f);
  if (n < 0 || atoi(buf) != 321)
    return facet_fail("oom_score_adj is %s", buf);
  return facet_pass();
}
