/* Helpers for the signal and timer facets: take queued signals (without
 * running handlers) and put them back as they were, so a check leaves the
 * state it checked in place. */
#ifndef LMIG_FACET_SIGUTIL_H
#define LMIG_FACET_SIGUTIL_H

#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000ll

static inline int64_t facet_clock_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Takes one queued instance of sig (0 when none is queued). */
static inline int facet_take(int sig, siginfo_t *si) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  struct timespec zero = {0, 0};
  int r = sigtimedwait(&set, si, &zero);
  return r == sig;
}

/* Queues si again: to the process (tid 0) or to this thread. */
static inline int facet_requeue(const siginfo_t *si, int tid) {
  if (tid)
    return (int)syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, si->si_signo, si);
  return (int)syscall(SYS_rt_sigqueueinfo, getpid(), si->si_signo, si);
}

/* The mask of a line of /proc/self/status ("SigPnd:", "ShdPnd:", "SigBlk:"). */
static inline unsigned long long facet_status_mask(const char *key) {
  char line[256];
  unsigned long long v = 0;
  FILE *f = fopen("/proc/thread-self/status", "r");
  if (!f)
    return 0;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, key, strlen(key)))
      v = strtoull(line + strlen(key), NULL, 16);
  fclose(f);
  return v;
}

#define SIGBIT(s) (1ull << ((s)-1))

#endif
