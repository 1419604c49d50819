/* An inotify instance keeps its watches, their masks and their watch
 * descriptors (with a gap left by a removed watch): events on the watched
 * directory and file arrive with the right wd, mask and name. */
#include <sys/inotify.h>
#include <sys/stat.h>

#include "facet.h"
#include "facet_fdutil.h"

static int in, wd_dir, wd_file;

FACET_SETUP(dir) {
  (void)dir;
  in = inotify_init1(IN_NONBLOCK);
  if (in < 0 || mkdir("watched", 0755) < 0 || mkdir("other", 0755) < 0)
    return facet_fail("setup: %s", strerror(errno)), 1;
  int f = open("watched/file", O_WRONLY | O_CREAT, 0644);
  if (f < 0)
    return facet_fail("create: %s", strerror(errno)), 1;
  close(f);
  wd_dir = inotify_add_watch(in, "watched", IN_CREATE | IN_DELETE);
  int gone = inotify_add_watch(in, "other", IN_ALL_EVENTS);
  wd_file = inotify_add_watch(in, "watched/file", IN_MODIFY | IN_CLOSE_WRITE | IN_EXCL_UNLINK);
  if (wd_dir < 0 || gone < 0 || wd_file < 0 || inotify_rm_watch(in, gone) < 0)
    return facet_fail("watches: %s", strerror(errno)), 1;
  char buf[4096]; /* the removal's IN_IGNORED */
  while (read(in, buf, sizeof buf) > 0) {
  }
  return 0;
}

struct want {
  int wd;
  uint32_t mask;
  const char *name;
};

FACET_CHECK(seq) {
  if (!facet_fd_flags(in, "inotify", O_NONBLOCK, O_NONBLOCK, 0))
    return 0;
  if (wd_dir != 1 || wd_file != 3)
    return facet_fail("watch descriptors %d and %d, expected 1 and 3", wd_dir, wd_file);
  /* The masks, flags included. */
  char line[256];
  facet_fdinfo(in, "inotify wd:3 ", line, sizeof line);
  const char *m = strstr(line, "mask:");
  unsigned mask = m ? (unsigned)strtoul(m + 5, NULL, 16) : 0;
  if (mask != (IN_MODIFY | IN_CLOSE_WRITE | IN_EXCL_UNLINK))
    return facet_fail("watch 3 has mask 0x%x", mask);
  char name[64], path[128];
  snprintf(name, sizeof name, "new-%u", seq);
  snprintf(path, sizeof path, "watched/%s", name);
  int f = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  int g = open("watched/file", O_WRONLY | O_APPEND);
  if (f < 0 || g < 0 || write(g, "x", 1) != 1)
    return facet_fail("touch files: %s", strerror(errno));
  close(f);
  close(g);
  unlink(path);
  struct want want[] = {{wd_dir, IN_CREATE, name},
                        {wd_file, IN_MODIFY, ""},
                        {wd_file, IN_CLOSE_WRITE, ""},
                        {wd_dir, IN_DELETE, name}};
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  ssize_t n = read(in, buf, sizeof buf);
  if (n <= 0)
    return facet_fail("no events: %s", strerror(errno));
  size_t k = 0;
  for (char *p = buf; p < buf + n; k++) {
    struct inotify_event *e = (struct inotify_event *)p;
    p += sizeof *e + e->len;
    if (k >= sizeof want / sizeof want[0])
      return facet_fail("extra event wd %d mask 0x%x", e->wd, e->mask);
    const char *ename = e->len ? e->name : "";
    if (e->wd != want[k].wd || e->mask != want[k].mask || strcmp(ename, want[k].name))
      return facet_fail("event %zu: wd %d mask 0x%x name '%s', expected wd %d mask 0x%x '%s'", k,
                        e->wd, e->mask, ename, want[k].wd, want[k].mask, want[k].name);
  }
  if (k != sizeof want / sizeof want[0])
    return facet_fail("%zu events, expected 4", k);
  return facet_pass();
}
