/* Signals queued to the thread itself (tgkill, rt_tgsigqueueinfo) stay in
 * its own queue, apart from the process-wide one, with their siginfo. */
#include "facet.h"
#include "facet_sigutil.h"

static int tid;

FACET_SETUP(dir) {
  (void)dir;
  tid = (int)syscall(SYS_gettid);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN + 3);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_BLOCK, &set, NULL);
  if (syscall(SYS_tgkill, getpid(), tid, SIGUSR2) < 0)
    return facet_fail("tgkill: %s", strerror(errno)), 1;
  for (int i = 1; i <= 3; i++) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGRTMIN + 3;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = 10 * i;
    if (facet_requeue(&si, tid) < 0)
      return facet_fail("rt_tgsigqueueinfo: %s", strerror(errno)), 1;
  }
  sigqueue(getpid(), SIGRTMIN + 3, (union sigval){.sival_int = 99});
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  unsigned long long mine = facet_status_mask("SigPnd:"), shared = facet_status_mask("ShdPnd:");
  unsigned long long want = SIGBIT(SIGRTMIN + 3) | SIGBIT(SIGUSR2);
  if ((mine & want) != want || (shared & want) != SIGBIT(SIGRTMIN + 3))
    return facet_fail("thread pending %llx, process-wide %llx", mine, shared);
  /* The thread's own queue is taken first, then the process-wide one. */
  siginfo_t rt[5], usr2;
  int n = 0;
  while (n < 5 && facet_take(SIGRTMIN + 3, &rt[n]))
    n++;
  int ok = 1;
  if (!facet_take(SIGUSR2, &usr2))
    ok = facet_fail("SIGUSR2 not queued");
  else if ((usr2.si_code != SI_TKILL && usr2.si_code != SI_USER) || usr2.si_pid != getpid())
    ok = facet_fail("SIGUSR2 code %d pid %d", usr2.si_code, usr2.si_pid);
  else
    facet_requeue(&usr2, tid);
  if (ok && n != 4)
    ok = facet_fail("%d instances of SIGRTMIN+3, 4 expected", n);
  for (int i = 0; ok && i < 4; i++) {
    int want_v = i < 3 ? 10 * (i + 1) : 99;
    if (rt[i].si_code != SI_QUEUE || rt[i].si_value.sival_int != want_v ||
        rt[i].si_pid != getpid())
      ok = facet_fail("SIGRTMIN+3 #%d: code %d value %d pid %d, want value %d", i, rt[i].si_code,
                      rt[i].si_value.sival_int, rt[i].si_pid, want_v);
  }
  for (int i = 0; i < n; i++)
    facet_requeue(&rt[i], i < 3 ? tid : 0);
  return ok ? facet_pass() : 0;
}
