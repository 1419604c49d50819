/* Each end of a pipe keeps its own status flags: O_NONBLOCK on one end
 * only (either way round), the other blocking. */
#include "facet.h"
#include "facet_fdutil.h"

static int a[2], b[2];

FACET_SETUP(dir) {
  (void)dir;
  if (pipe(a) < 0 || pipe(b) < 0 || fcntl(a[0], F_SETFL, O_NONBLOCK) < 0 ||
      fcntl(b[1], F_SETFL, O_NONBLOCK) < 0 || write(a[1], "x", 1) != 1 ||
      write(b[1], "y", 1) != 1)
    return facet_fail("pipes: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!facet_fd_flags(a[0], "a: read end", O_ACCMODE | O_NONBLOCK, O_RDONLY | O_NONBLOCK, 0) ||
      !facet_fd_flags(a[1], "a: write end", O_ACCMODE | O_NONBLOCK, O_WRONLY, 0) ||
      !facet_fd_flags(b[0], "b: read end", O_ACCMODE | O_NONBLOCK, O_RDONLY, 0) ||
      !facet_fd_flags(b[1], "b: write end", O_ACCMODE | O_NONBLOCK, O_WRONLY | O_NONBLOCK, 0))
    return 0;
  return facet_pass();
}
