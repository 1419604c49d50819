/* A netlink socket cannot move yet: refused by name, the process untouched. */
#include <linux/netlink.h>
#include <sys/socket.h>

#include "facet.h"

static int nl;

FACET_SETUP(dir) {
  (void)dir;
  nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  return nl < 0 ? (facet_fail("socket: %s", strerror(errno)), 1) : 0;
}

FACET_CHECK(seq) {
  (void)seq;
  int type = 0;
  socklen_t len = sizeof type;
  if (getsockopt(nl, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_RAW)
    return facet_fail("the netlink socket is gone");
  return facet_pass();
}
