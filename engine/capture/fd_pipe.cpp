// Pipe and FIFO buffers: tee() duplicates the buffered bytes into a pipe of
// our own without consuming them, so the process keeps its data whatever
// happens next.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "engine/capture/fd_kinds.hpp"

namespace lmig {

Result<PipeImage> read_pipe_buffer(int reader, const std::string &what) {
  PipeImage p;
  int cap = ::fcntl(reader, F_GETPIPE_SZ);
  if (cap < 0)
    return sys_error("F_GETPIPE_SZ " + what);
  p.capacity = static_cast<uint32_t>(cap);
  int queued = 0;
  if (::ioctl(reader, FIONREAD, &queued) < 0)
    return sys_error("FIONREAD " + what);
  if (queued == 0)
    return p;
  int tmp[2];
  if (::pipe2(tmp, O_CLOEXEC | O_NONBLOCK) < 0)
    return sys_error("pipe2");
  UniqueFd tr(tmp[0]), tw(tmp[1]);
  if (::fcntl(tw.get(), F_SETPIPE_SZ, cap) < 0)
    return sys_error("F_SETPIPE_SZ");
  ssize_t n = ::tee(reader, tw.get(), static_cast<size_t>(queued), SPLICE_F_NONBLOCK);
  if (n < 0)
    return sys_error("tee " + what);
  if (n != queued)
    return make_error(LMIG_ERR_SYSTEM, "tee " + what + " copied " + std::to_string(n) + " of " +
                                           std::to_string(queued) + " bytes");
  p.data.resize(static_cast<size_t>(n));
  size_t got = 0;
  while (got < p.data.size()) {
    ssize_t r = ::read(tr.get(), p.data.data() + got, p.data.size() - got);
    if (r <= 0)
      return sys_error("read pipe copy");
    got += static_cast<size_t>(r);
  }
  return p;
}

} // namespace lmig
