/* Threads keep who they are: TID, pthread_self, name, thread-local data,
 * and their rseq registration (sched_getcpu reads the CPU from it). */
#include <linux/rseq.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/rseq.h>

#include <pthread.h>
#include <stdatomic.h>

#include "facet.h"

#define N 3

struct ident {
  pthread_t self;
  pid_t tid;
  char name[16];
  atomic_ulong rounds;
  char why[160];
};
static struct ident ids[N];
static __thread uint64_t tls_pattern[32];

static void note(struct ident *id, const char *what) {
  if (!id->why[0])
    snprintf(id->why, sizeof id->why, "%s", what);
}

static void *run(void *arg) {
  struct ident *id = arg;
  const uint64_t seed = (uint64_t)(id - ids) * 1000 + 7;
  facet_fill(tls_pattern, sizeof tls_pattern, seed);
  snprintf(id->name, sizeof id->name, "lmig-w%d", (int)(id - ids));
  prctl(PR_SET_NAME, id->name);
  id->self = pthread_self();
  id->tid = (pid_t)syscall(SYS_gettid);
  for (;;) {
    char name[16] = {0};
    prctl(PR_GET_NAME, name);
    if (strcmp(name, id->name))
      note(id, "its name changed");
    if (!pthread_equal(pthread_self(), id->self))
      note(id, "pthread_self changed");
    if ((pid_t)syscall(SYS_gettid) != id->tid)
      note(id, "gettid changed");
    if (facet_differs(tls_pattern, sizeof tls_pattern, seed) >= 0)
      note(id, "its thread-local data changed");
    /* The kernel writes the CPU into the registered rseq area on every
     * return to user space: it must agree with the getcpu system call
     * (retried: the thread may move between the two reads). */
    if (__rseq_size > 0) {
      const struct rseq *rs =
          (const struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
      int agree = 0;
      for (int i = 0; i < 20 && !agree; i++) {
        unsigned cpu = 0;
        syscall(SYS_getcpu, &cpu, NULL, NULL);
        agree = rs->cpu_id == cpu && sched_getcpu() == (int)cpu;
      }
      if (!agree)
        note(id, "the rseq area's cpu_id disagrees with getcpu (rseq not registered?)");
    }
    atomic_fetch_add(&id->rounds, 1);
    usleep(2000);
  }
  return NULL;
}

FACET_SETUP(dir) {
  (void)dir;
  for (int i = 0; i < N; i++) {
    pthread_t t;
    if (facet_thread(&t, NULL, run, &ids[i]))
      return facet_fail("pthread_create"), 1;
  }
  for (int i = 0; i < N; i++)
    while (!atomic_load(&ids[i].rounds))
      usleep(1000);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  for (int i = 0; i < N; i++) {
    struct ident *id = &ids[i];
    unsigned long r = atomic_load(&id->rounds);
    for (int w = 0; w < 5000 && atomic_load(&id->rounds) < r + 3; w++)
      usleep(1000);
    if (atomic_load(&id->rounds) < r + 3)
      return facet_fail("thread %d (TID %d) stopped", i, id->tid);
    if (id->why[0])
      return facet_fail("thread %d (TID %d): %s", i, id->tid, id->why);
  }
  return facet_pass();
}
