/* An epoll instance a parent and its child both hold cannot move yet: the
 * tree is refused by name, and both go on. */
#include "facet.h"

#include <sys/epoll.h>
#include <sys/wait.h>


static pid_t child;
static int ep;

FACET_SETUP(dir) {
  (void)dir;
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    return facet_fail("epoll_create1: %s", strerror(errno)), 1;
  child = facet_fork();
  if (child < 0)
    return facet_fail("fork: %s", strerror(errno)), 1;
  if (child == 0) {
    for (;;)
      pause(); /* holds its copy of the epoll fd */
  }
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  struct epoll_event ev;
  if (epoll_wait(ep, &ev, 1, 0) < 0)
    return facet_fail("epoll_wait: %s", strerror(errno));
  if (kill(child, 0) < 0)
    return facet_fail("child %d is gone: %s", child, strerror(errno));
  return facet_pass();
}
