/* Shared anonymous memory between a parent and its child cannot move yet:
 * the tree is refused by name, and both go on. */
#include "facet.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>


static pid_t child;
static volatile uint64_t *shared;

FACET_SETUP(dir) {
  (void)dir;
  shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED)
    return facet_fail("mmap: %s", strerror(errno)), 1;
  shared[0] = 0;
  pid_t parent = getpid();
  child = fork();
  if (child < 0)
    return facet_fail("fork: %s", strerror(errno)), 1;
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* gone with the test's process */
    if (getppid() != parent)
      _exit(0);
    shared[0] = 0x5eed;
    for (;;)
      pause();
  }
  while (shared[0] != 0x5eed) /* the child has written through it */
    usleep(1000);
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (shared[0] != 0x5eed)
    return facet_fail("the shared word reads %llx", (unsigned long long)shared[0]);
  if (kill(child, 0) < 0)
    return facet_fail("child %d is gone: %s", child, strerror(errno));
  return facet_pass();
}
