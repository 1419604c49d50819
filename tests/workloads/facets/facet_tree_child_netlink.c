/* A child holding what cannot move yet (a netlink socket) makes its whole
 * tree refused by name, before anything is frozen: parent and child go on. */
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "facet.h"

static pid_t child;

FACET_SETUP(dir) {
  (void)dir;
  int ready[2];
  if (pipe(ready) < 0)
    return facet_fail("pipe: %s", strerror(errno)), 1;
  child = facet_fork();
  if (child < 0)
    return facet_fail("fork: %s", strerror(errno)), 1;
  if (child == 0) {
    int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    close(ready[0]);
    close(ready[1]); /* the parent sees EOF once the socket exists */
    if (nl < 0)
      _exit(1);
    for (;;)
      pause();
  }
  close(ready[1]);
  char c;
  if (read(ready[0], &c, 1) != 0)
    return facet_fail("the child did not get ready"), 1;
  close(ready[0]);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (kill(child, 0) < 0)
    return facet_fail("child %d is gone: %s", child, strerror(errno));
  if (waitid(P_PID, (id_t)child, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != 0)
    return facet_fail("child %d has ended", child);
  return facet_pass();
}
