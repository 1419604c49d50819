/* The process's view of /proc matches the PIDs it sees: /proc/<its PID>,
 * /proc/<its child's PID> and /proc/self/task/<its TID> name itself and
 * its child (after a move into a fresh PID namespace, not lmigd's). */
#include "facet.h"

static pid_t child;

static int stat_pid(const char *path, long *pid, long *ppid) {
  char buf[512] = "";
  int f = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = f < 0 ? -1 : read(f, buf, sizeof buf - 1);
  if (f >= 0)
    close(f);
  if (n <= 0)
    return 0;
  char *close_paren = strrchr(buf, ')');
  *pid = strtol(buf, NULL, 10);
  if (!close_paren || sscanf(close_paren + 2, "%*c %ld", ppid) != 1)
    return 0;
  return 1;
}

FACET_SETUP(dir) {
  (void)dir;
  child = facet_fork();
  if (child < 0)
    return facet_fail("fork: %s", strerror(errno)), 1;
  if (child == 0) {
    for (;;)
      pause();
  }
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  char path[128];
  long pid = 0, ppid = 0;
  snprintf(path, sizeof path, "/proc/%d/stat", getpid());
  if (!stat_pid(path, &pid, &ppid) || pid != getpid())
    return facet_fail("%s names PID %ld, not %d (%s)", path, pid, getpid(), strerror(errno));
  snprintf(path, sizeof path, "/proc/%d/stat", child);
  if (!stat_pid(path, &pid, &ppid) || pid != child || ppid != getpid())
    return facet_fail("%s names PID %ld parent %ld, not %d parent %d", path, pid, ppid, child,
                      getpid());
  snprintf(path, sizeof path, "/proc/self/task/%ld/stat", (long)syscall(SYS_gettid));
  if (!stat_pid(path, &pid, &ppid) || pid != syscall(SYS_gettid))
    return facet_fail("%s names TID %ld", path, pid);
  return facet_pass();
}
