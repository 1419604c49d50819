/* Memory a parent and its child share stays shared: shared anonymous
 * memory inherited through fork, and a memfd both map (the child also
 * holds its fd). On each check the parent writes into both, the child
 * (asked over a socket pair) must read what it wrote and write back, and
 * the parent must see that. */
#include "facet.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define REGION (64 * 1024)

static pid_t child;
static int sock, memfd;
static volatile uint64_t *anon, *mapped;

static void child_main(int csock) {
  for (;;) {
    uint64_t seq;
    if (read(csock, &seq, sizeof seq) != sizeof seq)
      _exit(0);
    uint64_t ok = anon[0] == seq && anon[REGION / 8 - 1] == ~seq && mapped[0] == seq * 3 &&
                  mapped[REGION / 8 - 1] == seq;
    anon[1] = seq + 1000;
    mapped[1] = seq + 2000;
    if (write(csock, &ok, sizeof ok) != sizeof ok)
      _exit(0);
  }
}

FACET_SETUP(dir) {
  (void)dir;
  anon = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  memfd = memfd_create("facet-shared", MFD_CLOEXEC);
  if (anon == MAP_FAILED || memfd < 0 || ftruncate(memfd, REGION) < 0)
    return facet_fail("setup: %s", strerror(errno)), 1;
  mapped = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  if (mapped == MAP_FAILED)
    return facet_fail("mmap memfd: %s", strerror(errno)), 1;
  child = facet_fork_linked(&sock, child_main);
  if (child < 0)
    return facet_fail("fork: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  const uint64_t v = seq + 7;
  anon[0] = v;
  anon[REGION / 8 - 1] = ~v;
  mapped[0] = v * 3;
  mapped[REGION / 8 - 1] = v;
  uint64_t ok = 0;
  if (write(sock, &v, sizeof v) != sizeof v || read(sock, &ok, sizeof ok) != sizeof ok)
    return facet_fail("the child did not answer: %s", strerror(errno));
  if (!ok)
    return facet_fail("the child does not see what the parent wrote into shared memory");
  if (anon[1] != v + 1000 || mapped[1] != v + 2000)
    return facet_fail("the parent does not see what the child wrote (anon %llu, memfd %llu)",
                      (unsigned long long)anon[1], (unsigned long long)mapped[1]);
  uint64_t through_fd = 0;
  if (pread(memfd, &through_fd, sizeof through_fd, 8) != sizeof through_fd ||
      through_fd != v + 2000)
    return facet_fail("the memfd's fd and its mapping differ");
  if (kill(child, 0) < 0)
    return facet_fail("child %d is gone: %s", child, strerror(errno));
  return facet_pass();
}
