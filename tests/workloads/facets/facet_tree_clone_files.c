/* A child made with clone(CLONE_FILES | CLONE_FS): it and its parent share
 * one fd table and one working directory, so an fd one opens the other
 * sees. Refused by name until the target can share them again (it would
 * make two tables). */
#include <sched.h>
#include <sys/wait.h>

#include "facet.h"

static char stack[64 << 10];
static int child_fd = -1;

static int child_main(void *arg) {
  (void)arg;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  child_fd = open("/dev/null", O_RDONLY); /* lands in the parent's table too */
  for (;;)
    pause();
  return 0;
}

FACET_SETUP(dir) {
  (void)dir;
  pid_t pid = clone(child_main, stack + sizeof stack, CLONE_FILES | CLONE_FS | SIGCHLD, NULL);
  if (pid < 0)
    return facet_fail("clone: %s", strerror(errno)), 1;
  for (int i = 0; i < 1000 && fcntl(3, F_GETFD) < 0; i++)
    usleep(1000);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  char link[64] = "";
  if (readlink("/proc/self/fd/3", link, sizeof link - 1) < 0 || strcmp(link, "/dev/null"))
    return facet_fail("the child's fd 3 is not in this table: '%s'", link);
  return facet_pass();
}
