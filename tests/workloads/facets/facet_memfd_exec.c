/* A program held in a memfd (as runc and systemd do): a child can still
 * execveat() it after the move, and it runs. */
#include <sys/mman.h>
#include <sys/wait.h>

#include "facet.h"

static int mfd = -1;

FACET_SETUP(dir) {
  (void)dir;
  int src = open("/bin/true", O_RDONLY | O_CLOEXEC);
  mfd = memfd_create("exe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (src < 0 || mfd < 0)
    return facet_fail("open/memfd_create: %s", strerror(errno)), 1;
  static char buf[1 << 16];
  ssize_t n;
  while ((n = read(src, buf, sizeof buf)) > 0)
    if (write(mfd, buf, (size_t)n) != n)
      return facet_fail("copy: %s", strerror(errno)), 1;
  close(src);
  if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
    return facet_fail("seal: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  pid_t child = fork();
  if (child < 0)
    return facet_fail("fork: %s", strerror(errno));
  if (child == 0) {
    char *argv[] = {"true", NULL}, *envp[] = {NULL};
    syscall(SYS_execveat, mfd, "", argv, envp, AT_EMPTY_PATH);
    _exit(100 + errno);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return facet_fail("execveat of the memfd: %s",
                      WIFEXITED(status) && WEXITSTATUS(status) >= 100
                          ? strerror(WEXITSTATUS(status) - 100)
                          : "the program failed");
  return facet_pass();
}
