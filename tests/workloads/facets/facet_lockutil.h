/* facet_lockutil.h: what the lock facets share: a file to lock in the
 * facet's directory, and a look from outside (a child process that opens
 * the file anew) at whether a lock keeps others out. */
#ifndef LMIG_FACET_LOCKUTIL_H
#define LMIG_FACET_LOCKUTIL_H

#include <sys/file.h>
#include <sys/wait.h>

enum lock_probe { PROBE_POSIX, PROBE_OFD, PROBE_FLOCK };

/* Opens (creating) "locked" in the working directory, 4 KiB long. */
static inline int facet_lock_file(void) {
  int fd = open("locked", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  static char page[4096];
  if (fd >= 0 && pwrite(fd, page, sizeof page, 0) != (ssize_t)sizeof page) {
    close(fd);
    return -1;
  }
  return fd;
}

/* 1 if another process is kept out of [start, start+len) (the whole file
 * for flock) by a write lock attempt of `probe`'s kind, 0 if it got in, -1
 * on error. */
static inline int facet_locked_out(enum lock_probe probe, off_t start, off_t len) {
  pid_t child = fork();
  if (child < 0)
    return -1;
  if (child == 0) {
    int fd = open("locked", O_RDWR);
    if (fd < 0)
      _exit(2);
    int r;
    if (probe == PROBE_FLOCK) {
      r = flock(fd, LOCK_EX | LOCK_NB);
    } else {
      struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
      r = fcntl(fd, probe == PROBE_OFD ? F_OFD_SETLK : F_SETLK, &fl);
    }
    _exit(r == 0 ? 1 : (errno == EAGAIN || errno == EACCES || errno == EWOULDBLOCK) ? 0 : 2);
  }
  int status;
  while (waitpid(child, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 2)
    return -1;
  return WEXITSTATUS(status) == 0;
}

#endif
