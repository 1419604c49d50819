/* More threads than lmigd restores (4096): refused by name before the
 * freeze, and every thread goes on. */
#include <pthread.h>
#include <stdatomic.h>

#include "facet.h"

#define N 4100

static atomic_int started;

static void *idle(void *arg) {
  (void)arg;
  atomic_fetch_add(&started, 1);
  for (;;)
    pause();
  return NULL;
}

FACET_SETUP(dir) {
  (void)dir;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setstacksize(&a, 64 * 1024);
  for (int i = 0; i < N; i++) {
    pthread_t t;
    int r = facet_thread(&t, &a, idle, NULL);
    if (r)
      return facet_fail("thread %d: %s", i, strerror(r)), 1;
  }
  while (atomic_load(&started) < N)
    usleep(1000);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  char line[256];
  int threads = 0;
  FILE *f = fopen("/proc/self/status", "r");
  while (f && fgets(line, sizeof line, f))
    sscanf(line, "Threads: %d", &threads);
  if (f)
    fclose(f);
  if (threads != N + 1)
    return facet_fail("%d threads, expected %d", threads, N + 1);
  return facet_pass();
}
