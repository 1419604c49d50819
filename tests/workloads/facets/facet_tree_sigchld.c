/* A migration invents no SIGCHLD: the facet process counts SIGCHLD
 * deliveries in an SA_SIGINFO handler (without SA_NOCLDSTOP, so a child
 * stopped and continued by a migrator counts too). Setup makes one zombie
 * (exit status 5) and takes its SIGCHLD; it also keeps one live child (a
 * facet_tree.h node). Each check: still exactly that one delivery, the
 * zombie still there unreaped (waitid WNOWAIT), the live child answering.
 * A failure lists what the extra deliveries said. */
#include "facet_tree.h"

#define LOG 8

static volatile sig_atomic_t deliveries;
static struct { volatile sig_atomic_t pid, code, status; } got[LOG];
static pid_t zombie;

static void on_sigchld(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  int n = deliveries;
  if (n < LOG) {
    got[n].pid = si->si_pid;
    got[n].code = si->si_code;
    got[n].status = si->si_status;
  }
  deliveries = n + 1;
}

static void live_child(void) { tree_run(1); }

static int deliveries_as_set_up(void) {
  int n = deliveries;
  if (n == 1 && got[0].pid == zombie && got[0].code == CLD_EXITED && got[0].status == 5)
    return 1;
  char list[400] = "";
  size_t len = 0;
  for (int i = 0; i < n && i < LOG && len < sizeof list; i++)
    len += (size_t)snprintf(list + len, sizeof list - len, " [pid %d code %d status %d]",
                            (int)got[i].pid, (int)got[i].code, (int)got[i].status);
  return facet_fail("%d SIGCHLD deliveries, expected 1 [pid %d code %d status 5]:%s", n, zombie,
                    CLD_EXITED, list);
}

FACET_SETUP(dir) {
  (void)dir;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigchld;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  if (sigaction(SIGCHLD, &sa, NULL) < 0)
    return facet_fail("sigaction: %s", strerror(errno)), 1;
  if (!tree_init() || !tree_spawn("live child", -1, live_child))
    return 1;
  /* SIGCHLD waits blocked until the child is a zombie; unblocking it runs
   * the handler before sigprocmask returns, so no timing is involved. */
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  zombie = fork();
  if (zombie < 0)
    return facet_fail("fork: %s", strerror(errno)), 1;
  if (zombie == 0)
    _exit(5);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  while (waitid(P_PID, (id_t)zombie, &si, WEXITED | WNOWAIT) < 0)
    if (errno != EINTR)
      return facet_fail("waitid(%d): %s", zombie, strerror(errno)), 1;
  sigprocmask(SIG_UNBLOCK, &chld, NULL);
  return deliveries_as_set_up() ? 0 : 1;
}

FACET_CHECK(seq) {
  if (!deliveries_as_set_up())
    return 0;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_PID, (id_t)zombie, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
    return facet_fail("waitid(zombie %d): %s", zombie, strerror(errno));
  if (si.si_pid != zombie || si.si_code != CLD_EXITED || si.si_status != 5)
    return facet_fail("zombie %d: waitid gave pid %d code %d status %d, expected code %d status 5",
                      zombie, si.si_pid, si.si_code, si.si_status, CLD_EXITED);
  if (!tree_check_top(seq))
    return 0;
  return deliveries_as_set_up() ? facet_pass() : 0;
}
