/* Signal handlers keep their function, mask and flags; ignored signals stay
 * ignored; the blocked mask is kept. */
#include "facet.h"

static volatile int ran;
static void handler(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  ran = si->si_signo;
}

FACET_SETUP(dir) {
  (void)dir;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGALRM);
  sigaction(SIGUSR2, &sa, NULL);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  sigset_t b;
  sigemptyset(&b);
  sigaddset(&b, SIGWINCH);
  sigaddset(&b, SIGRTMIN + 3);
  sigprocmask(SIG_BLOCK, &b, NULL);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  struct sigaction sa;
  sigaction(SIGUSR2, NULL, &sa);
  if (sa.sa_sigaction != handler)
    return facet_fail("handler lost");
  if ((sa.sa_flags & (SA_SIGINFO | SA_RESTART | SA_NODEFER)) != (SA_SIGINFO | SA_RESTART | SA_NODEFER))
    return facet_fail("flags 0x%x lost bits", sa.sa_flags);
  if (!sigismember(&sa.sa_mask, SIGALRM))
    return facet_fail("handler mask lost");
  if (signal(SIGHUP, SIG_IGN) != SIG_IGN || signal(SIGPIPE, SIG_IGN) != SIG_IGN)
    return facet_fail("ignored signals no longer ignored");
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  if (!sigismember(&cur, SIGWINCH) || !sigismember(&cur, SIGRTMIN + 3))
    return facet_fail("blocked mask lost");
  ran = 0;
  raise(SIGUSR2);
  if (ran != SIGUSR2)
    return facet_fail("handler did not run");
  return facet_pass();
}
