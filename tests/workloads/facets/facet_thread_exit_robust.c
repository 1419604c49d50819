/* Threads end as they should after the move: pthread_join returns when one
 * exits (the kernel clears and wakes its clear_child_tid), and a robust
 * mutex it held is handed over as EOWNERDEAD (the kernel walks its robust
 * list). Each check ends one such thread. */
#include <pthread.h>
#include <stdatomic.h>

#include "facet.h"

#define N 6

struct holder {
  pthread_t th;
  pthread_mutex_t m;
  atomic_int locked, go;
};
static struct holder h[N];
static int next;

static void *hold(void *arg) {
  struct holder *me = arg;
  pthread_mutex_lock(&me->m);
  atomic_store(&me->locked, 1);
  while (!atomic_load(&me->go))
    usleep(1000);
  return NULL; /* still holding the mutex */
}

FACET_SETUP(dir) {
  (void)dir;
  for (int i = 0; i < N; i++) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&h[i].m, &a);
    if (facet_thread(&h[i].th, NULL, hold, &h[i]))
      return facet_fail("pthread_create"), 1;
  }
  for (int i = 0; i < N; i++)
    while (!atomic_load(&h[i].locked))
      usleep(1000);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (next >= N)
    return facet_fail("out of threads to end");
  struct holder *me = &h[next++];
  atomic_store(&me->go, 1);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  int r = pthread_timedjoin_np(me->th, NULL, &until);
  if (r)
    return facet_fail("pthread_join of an exited thread: %s", strerror(r));
  r = pthread_mutex_lock(&me->m);
  if (r != EOWNERDEAD)
    return facet_fail("locking the mutex its dead owner held gave %s, not EOWNERDEAD",
                      r ? strerror(r) : "success");
  pthread_mutex_consistent(&me->m);
  pthread_mutex_unlock(&me->m);
  return facet_pass();
}
