/* Each thread keeps its own blocked mask and its own alternate signal
 * stack: a signal sent to one thread runs its handler on that thread's
 * altstack. */
#include <pthread.h>
#include <stdatomic.h>

#include "facet.h"

#define N 3

struct per {
  pid_t tid;
  sigset_t mask;
  char *stack;
  size_t size;
  atomic_int asked, handled;
  char why[160];
};
static struct per pt[N];
static __thread struct per *self;

static void on_usr2(int sig) {
  (void)sig;
  char here;
  if (&here < self->stack || &here >= self->stack + self->size)
    snprintf(self->why, sizeof self->why, "the handler ran outside the thread's altstack");
  atomic_fetch_add(&self->handled, 1);
}

static void *run(void *arg) {
  self = arg;
  self->tid = (pid_t)syscall(SYS_gettid);
  stack_t ss = {.ss_sp = self->stack, .ss_size = self->size, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) < 0)
    snprintf(self->why, sizeof self->why, "sigaltstack: %s", strerror(errno));
  pthread_sigmask(SIG_SETMASK, &self->mask, NULL);
  for (;;) {
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    for (int s = 1; s < 64; s++)
      if (s != SIGUSR2 && sigismember(&now, s) != sigismember(&self->mask, s) && !self->why[0])
        snprintf(self->why, sizeof self->why, "signal %d is %sblocked", s,
                 sigismember(&now, s) ? "" : "not ");
    stack_t cur;
    sigaltstack(NULL, &cur);
    if ((cur.ss_sp != self->stack || cur.ss_size != self->size || cur.ss_flags) && !self->why[0])
      snprintf(self->why, sizeof self->why, "sigaltstack is %p+%zu flags %d", cur.ss_sp,
               cur.ss_size, cur.ss_flags);
    usleep(1000);
  }
  return NULL;
}

FACET_SETUP(dir) {
  (void)dir;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr2;
  sa.sa_flags = SA_ONSTACK | SA_RESTART;
  sigaction(SIGUSR2, &sa, NULL);
  for (int i = 0; i < N; i++) {
    sigemptyset(&pt[i].mask);
    sigaddset(&pt[i].mask, SIGUSR1);
    sigaddset(&pt[i].mask, SIGRTMIN + i);      /* a mask of its own */
    sigaddset(&pt[i].mask, i % 2 ? SIGHUP : SIGWINCH);
    pt[i].size = 64 * 1024 + (size_t)i * 4096;
    pt[i].stack = malloc(pt[i].size);
    pthread_t t;
    if (facet_thread(&t, NULL, run, &pt[i]))
      return facet_fail("pthread_create"), 1;
  }
  for (int i = 0; i < N; i++)
    while (!pt[i].tid)
      usleep(1000);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  for (int i = 0; i < N; i++) {
    struct per *p = &pt[i];
    int before = atomic_load(&p->handled);
    if (syscall(SYS_tgkill, getpid(), p->tid, SIGUSR2) < 0)
      return facet_fail("tgkill %d: %s", p->tid, strerror(errno));
    for (int w = 0; w < 5000 && atomic_load(&p->handled) == before; w++)
      usleep(1000);
    if (atomic_load(&p->handled) == before)
      return facet_fail("thread %d did not handle SIGUSR2", p->tid);
    if (p->why[0])
      return facet_fail("thread %d: %s", p->tid, p->why);
  }
  return facet_pass();
}
