/* Signals queued to the process while blocked, by another process (gone by
 * the move): real-time ones with their values in order, a kill()ed
 * standard one, each with its si_code and the sender's si_pid and si_uid. */
#include <sys/wait.h>

#include "facet.h"
#include "facet_sigutil.h"

static pid_t sender;

FACET_SETUP(dir) {
  (void)dir;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN + 1);
  sigaddset(&set, SIGUSR2);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, NULL);
  pid_t parent = getpid();
  sender = fork();
  if (sender == 0) {
    sigqueue(parent, SIGRTMIN + 1, (union sigval){.sival_int = 101});
    kill(parent, SIGUSR2);
    sigqueue(parent, SIGRTMIN + 1, (union sigval){.sival_int = 102});
    sigqueue(parent, SIGTERM, (union sigval){.sival_int = 7});
    _exit(0);
  }
  if (sender < 0 || waitpid(sender, NULL, 0) != sender)
    return facet_fail("fork: %s", strerror(errno)), 1;
  return 0;
}

static int expect(const siginfo_t *si, int sig, int code, int value) {
  if (si->si_signo != sig || si->si_code != code || si->si_pid != sender ||
      si->si_uid != getuid() || (code == SI_QUEUE && si->si_value.sival_int != value))
    return facet_fail("signal %d: code %d pid %d uid %d value %d, expected %d/%d/%d/%d", sig,
                      si->si_code, si->si_pid, si->si_uid, si->si_value.sival_int, code, sender,
                      getuid(), value);
  return 1;
}

FACET_CHECK(seq) {
  (void)seq;
  unsigned long long want = SIGBIT(SIGRTMIN + 1) | SIGBIT(SIGUSR2) | SIGBIT(SIGTERM);
  if ((facet_status_mask("ShdPnd:") & want) != want)
    return facet_fail("process-wide pending %llx, want %llx", facet_status_mask("ShdPnd:"), want);
  siginfo_t rt[3], usr2, term;
  int n = 0;
  while (n < 3 && facet_take(SIGRTMIN + 1, &rt[n]))
    n++;
  int ok = n == 2 || facet_fail("%d instances of SIGRTMIN+1 queued, 2 expected", n);
  ok = ok && facet_take(SIGUSR2, &usr2) && facet_take(SIGTERM, &term);
  if (!ok && !facet_why[0])
    facet_fail("SIGUSR2 or SIGTERM not queued");
  ok = ok && expect(&rt[0], SIGRTMIN + 1, SI_QUEUE, 101) &&
       expect(&rt[1], SIGRTMIN + 1, SI_QUEUE, 102) && expect(&usr2, SIGUSR2, SI_USER, 0) &&
       expect(&term, SIGTERM, SI_QUEUE, 7);
  /* Leave them queued as they were for the next check. */
  for (int i = 0; i < n; i++)
    facet_requeue(&rt[i], 0);
  if (ok) {
    facet_requeue(&usr2, 0);
    facet_requeue(&term, 0);
  }
  return ok ? facet_pass() : 0;
}
