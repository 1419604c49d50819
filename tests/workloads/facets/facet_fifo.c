/* A FIFO is reopened by its path, both ends with their flags, and keeps
 * the bytes it buffers and its capacity. */
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "facet.h"
#include "facet_fdutil.h"

#define LEN 10000

static int rd, wr;
static char data[LEN];

FACET_SETUP(dir) {
  (void)dir;
  facet_fill(data, LEN, 3);
  if (mkfifo("fifo", 0600) < 0)
    return facet_fail("mkfifo: %s", strerror(errno)), 1;
  rd = open("fifo", O_RDONLY | O_NONBLOCK);
  wr = open("fifo", O_WRONLY);
  if (rd < 0 || wr < 0 || fcntl(wr, F_SETPIPE_SZ, 1 << 20) < 0 ||
      write(wr, data, LEN) != LEN)
    return facet_fail("open/fill: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  if (!facet_fd_flags(rd, "read end", O_ACCMODE | O_NONBLOCK, O_RDONLY | O_NONBLOCK, 0) ||
      !facet_fd_flags(wr, "write end", O_ACCMODE | O_NONBLOCK, O_WRONLY, 0))
    return 0;
  struct stat path_st, rd_st, wr_st;
  if (stat("fifo", &path_st) < 0 || fstat(rd, &rd_st) < 0 || fstat(wr, &wr_st) < 0 ||
      rd_st.st_ino != path_st.st_ino || wr_st.st_ino != path_st.st_ino ||
      !S_ISFIFO(rd_st.st_mode))
    return facet_fail("the ends are not the FIFO at ./fifo");
  if (fcntl(rd, F_GETPIPE_SZ) != 1 << 20)
    return facet_fail("capacity %d", fcntl(rd, F_GETPIPE_SZ));
  int queued = 0;
  ioctl(rd, FIONREAD, &queued);
  if (queued != LEN)
    return facet_fail("%d bytes buffered, expected %d", queued, LEN);
  static char buf[LEN + 1];
  if (read(rd, buf, sizeof buf) != LEN || memcmp(buf, data, LEN))
    return facet_fail("the buffered bytes differ");
  if (read(rd, buf, 1) != -1 || errno != EAGAIN)
    return facet_fail("more bytes than buffered");
  if (write(wr, data, LEN) != LEN)
    return facet_fail("write again: %s", strerror(errno));
  return facet_pass();
}
