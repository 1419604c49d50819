/* Zombies stay unreaped and keep how they ended: the facet process has one
 * child that exited with status 7, one killed by SIGTERM (no core dump),
 * both left unreaped, and between them one live child (a facet_tree.h
 * node). Each check looks at the zombies with waitid(WNOWAIT), which never
 * reaps them, and asks the live child to check itself. */
#include "facet_tree.h"

struct zombie {
  const char *name;
  pid_t pid;
  int code, status;
};
static struct zombie zombies[2] = {
    {.name = "zombie that exited 7", .code = CLD_EXITED, .status = 7},
    {.name = "zombie killed by SIGTERM", .code = CLD_KILLED, .status = SIGTERM},
};

static void live_child(void) { tree_run(1); }

/* Looks at z without reaping it; 1 if it ended as it must have. */
static int zombie_there(const struct zombie *z) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_PID, (id_t)z->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
    return facet_fail("waitid(%s %d): %s", z->name, z->pid, strerror(errno));
  if (si.si_pid != z->pid)
    return facet_fail("%s %d has not ended (waitid gave pid %d)", z->name, z->pid, si.si_pid);
  if (si.si_code != z->code || si.si_status != z->status)
    return facet_fail("%s %d: si_code %d si_status %d, expected %d and %d", z->name, z->pid,
                      si.si_code, si.si_status, z->code, z->status);
  if (si.si_uid != getuid())
    return facet_fail("%s %d: si_uid %u, expected %u", z->name, z->pid, (unsigned)si.si_uid,
                      (unsigned)getuid());
  return 1;
}

/* Forks z's process, which ends at once as z says, and waits (without
 * reaping) until it is a zombie. */
static int make_zombie(struct zombie *z) {
  z->pid = fork();
  if (z->pid < 0)
    return facet_fail("fork %s: %s", z->name, strerror(errno));
  if (z->pid == 0) {
    if (z->code == CLD_EXITED)
      _exit(z->status);
    /* The disposition may have come ignored through exec: make it kill. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, z->status);
    signal(z->status, SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(z->status);
    _exit(100);
  }
  siginfo_t si;
  memset(&si, 0, sizeof si);
  while (waitid(P_PID, (id_t)z->pid, &si, WEXITED | WNOWAIT) < 0)
    if (errno != EINTR)
      return facet_fail("waitid(%s %d): %s", z->name, z->pid, strerror(errno));
  return zombie_there(z);
}

FACET_SETUP(dir) {
  (void)dir;
  /* An ignored SIGCHLD would have the kernel reap them at once. */
  signal(SIGCHLD, SIG_DFL);
  if (!tree_init() || !make_zombie(&zombies[0]) || !tree_spawn("live child", -1, live_child) ||
      !make_zombie(&zombies[1]))
    return 1;
  return 0;
}

FACET_CHECK(seq) {
  for (int i = 0; i < 2; i++)
    if (!zombie_there(&zombies[i]))
      return 0;
  return tree_check_top(seq) ? facet_pass() : 0;
}
