/* Four threads each own 8 MiB of memory and, on every check, verify all of
 * it at once and write it anew: in post-copy their first touches fault
 * concurrently on pages still on the source. */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "facet.h"

#define N 4
#define LEN (8u << 20)

struct region {
  pthread_t th;
  uint8_t *mem;
  uint64_t seed;
  atomic_int ask, done;
  char why[160];
};
static struct region r[N];

static void *owner(void *arg) {
  struct region *me = arg;
  for (;;) {
    while (atomic_load(&me->ask) == atomic_load(&me->done))
      usleep(500);
    long at = facet_differs(me->mem, LEN, me->seed);
    if (at >= 0 && !me->why[0])
      snprintf(me->why, sizeof me->why, "word %ld of its region differs (seed %llu)", at,
               (unsigned long long)me->seed);
    me->seed++;
    facet_fill(me->mem, LEN, me->seed);
    atomic_fetch_add(&me->done, 1);
  }
  return NULL;
}

FACET_SETUP(dir) {
  (void)dir;
  for (int i = 0; i < N; i++) {
    r[i].mem = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r[i].mem == MAP_FAILED)
      return facet_fail("mmap: %s", strerror(errno)), 1;
    r[i].seed = 1000u * (unsigned)i;
    facet_fill(r[i].mem, LEN, r[i].seed);
    if (facet_thread(&r[i].th, NULL, owner, &r[i]))
      return facet_fail("pthread_create"), 1;
  }
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  for (int i = 0; i < N; i++)
    atomic_fetch_add(&r[i].ask, 1); /* all at once */
  for (int i = 0; i < N; i++) {
    for (int w = 0; w < 20000 && atomic_load(&r[i].done) < atomic_load(&r[i].ask); w++)
      usleep(1000);
    if (atomic_load(&r[i].done) < atomic_load(&r[i].ask))
      return facet_fail("thread %d did not finish its region", i);
    if (r[i].why[0])
      return facet_fail("thread %d: %s", i, r[i].why);
  }
  return facet_pass();
}
