/* System V shared memory cannot move yet: refused by name, the process
 * untouched. */
#include <sys/ipc.h>
#include <sys/shm.h>

#include "facet.h"

static char *p;

FACET_SETUP(dir) {
  (void)dir;
  int id = shmget(IPC_PRIVATE, 65536, IPC_CREAT | 0600);
  if (id < 0)
    return facet_fail("shmget: %s", strerror(errno)), 1;
  p = shmat(id, NULL, 0);
  shmctl(id, IPC_RMID, NULL); /* gone once detached: nothing left behind */
  if (p == (void *)-1)
    return facet_fail("shmat: %s", strerror(errno)), 1;
  strcpy(p, "sysv");
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (strcmp(p, "sysv"))
    return facet_fail("the segment holds '%.8s'", p);
  return facet_pass();
}
