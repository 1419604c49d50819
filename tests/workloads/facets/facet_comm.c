/* The thread name set with PR_SET_NAME is kept byte for byte, including a
 * tab and a backslash (which /proc/PID/status would show escaped). */
#include <sys/prctl.h>

#include "facet.h"

static const char kName[] = "lm\tcomm\\x:7";

FACET_SETUP(dir) {
  (void)dir;
  if (prctl(PR_SET_NAME, kName) < 0)
    return facet_fail("PR_SET_NAME: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  char name[32] = {0};
  if (prctl(PR_GET_NAME, name) < 0)
    return facet_fail("PR_GET_NAME: %s", strerror(errno));
  if (strcmp(name, kName))
    return facet_fail("name is '%s'", name);
  char comm[64] = {0};
  ssize_t n = facet_read_file("/proc/self/comm", comm, sizeof comm);
  if (n < 1 || comm[n - 1] != '\n')
    return facet_fail("/proc/self/comm unreadable");
  comm[n - 1] = 0;
  if (strcmp(comm, kName))
    return facet_fail("/proc/self/comm is '%s'", comm);
  return facet_pass();
}
