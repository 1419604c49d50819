/* A process whose working directory was removed: it is still in a removed
 * directory after the move (the link says "(deleted)", nothing can be made
 * in it, and ".." leads back to where it was). */
#include <sys/stat.h>

#include "facet.h"

static char parent[4096];

FACET_SETUP(dir) {
  snprintf(parent, sizeof parent, "%s", dir);
  if (mkdir("gone", 0700) < 0 || chdir("gone") < 0 || rmdir("../gone") < 0)
    return facet_fail("setup: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  char link[4200] = "";
  ssize_t n = readlink("/proc/self/cwd", link, sizeof link - 1);
  if (n < 10 || strcmp(link + n - 10, " (deleted)"))
    return facet_fail("working directory %s", link);
  struct stat st;
  if (stat(".", &st) < 0 || st.st_nlink != 0)
    return facet_fail("the working directory is not a removed one");
  int fd = open("new", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0 || errno != ENOENT) {
    if (fd >= 0)
      close(fd);
    return facet_fail("a file could be made in the removed directory");
  }
  struct stat up, want;
  if (stat("..", &up) < 0 || stat(parent, &want) < 0 || up.st_ino != want.st_ino)
    return facet_fail("'..' is not %s", parent);
  return facet_pass();
}
