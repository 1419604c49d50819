/* A listening unix socket bound to a path, with a connection waiting,
 * cannot move yet: refused by name, the process untouched. */
#include <sys/socket.h>
#include <sys/un.h>

#include "facet.h"

static int lsn, cli;

FACET_SETUP(dir) {
  (void)dir;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strcpy(a.sun_path, "sock");
  lsn = socket(AF_UNIX, SOCK_STREAM, 0);
  cli = socket(AF_UNIX, SOCK_STREAM, 0);
  if (lsn < 0 || cli < 0 || bind(lsn, (struct sockaddr *)&a, sizeof a) < 0 || listen(lsn, 4) < 0 ||
      connect(cli, (struct sockaddr *)&a, sizeof a) < 0)
    return facet_fail("setup: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  int on = 0;
  socklen_t len = sizeof on;
  if (getsockopt(lsn, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) < 0 || !on)
    return facet_fail("no longer listening");
  return facet_pass();
}
