#include "engine/lazy/uffd.hpp"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/base/unique_fd.hpp"

namespace lmig::uffd {

Result<uint64_t> kernel_features() {
  UniqueFd fd(static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK)));
  if (!fd)
    return sys_error("userfaultfd");
  uffdio_api api{};
  api.api = UFFD_API;
  if (::ioctl(fd.get(), UFFDIO_API, &api) < 0)
    return sys_error("UFFDIO_API");
  return static_cast<uint64_t>(api.features);
}

uint64_t postcopy_features(uint64_t available) {
  return available & (UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP |
                      UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_FORK |
                      UFFD_FEATURE_THREAD_ID);
}

Result<size_t> read_events(int fd, Event *out, size_t max) {
  uffd_msg msgs[64];
  if (max > 64)
    max = 64;
  ssize_t n = ::read(fd, msgs, sizeof(uffd_msg) * max);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR)
      return size_t{0};
    return sys_error("read userfaultfd events");
  }
  size_t count = static_cast<size_t>(n) / sizeof(uffd_msg);
  for (size_t i = 0; i < count; i++) {
    const uffd_msg &m = msgs[i];
    Event &e = out[i];
    e = Event{};
    switch (m.event) {
    case UFFD_EVENT_PAGEFAULT:
      e.kind = Event::fault;
      e.addr = m.arg.pagefault.address & ~4095ull;
      e.flags = static_cast<uint32_t>(m.arg.pagefault.flags);
      break;
    case UFFD_EVENT_REMOVE:
      e.kind = Event::remove;
      e.addr = m.arg.remove.start;
      e.end = m.arg.remove.end;
      break;
    case UFFD_EVENT_UNMAP:
      e.kind = Event::unmap;
      e.addr = m.arg.remove.start;
      e.end = m.arg.remove.end;
      break;
    case UFFD_EVENT_REMAP:
      e.kind = Event::remap;
      e.addr = m.arg.remap.from;
      e.end = m.arg.remap.to;
      e.len = m.arg.remap.len;
      break;
    case UFFD_EVENT_FORK:
      e.kind = Event::fork;
      e.fd = static_cast<int>(m.arg.fork.ufd);
      break;
    default:
      e.kind = Event::other;
    }
  }
  return count;
}

Outcome copy(int fd, uint64_t dst, const void *src, uint64_t len, bool wake) {
  uffdio_copy c{};
  c.dst = dst;
  c.src = reinterpret_cast<uint64_t>(src);
  c.len = len;
  c.mode = wake ? 0 : UFFDIO_COPY_MODE_DONTWAKE;
  if (::ioctl(fd, UFFDIO_COPY, &c) == 0)
    return {0, len};
  int err = errno;
  return {err, c.copy > 0 ? static_cast<uint64_t>(c.copy) : 0};
}

Outcome zeropage(int fd, uint64_t dst, uint64_t len, bool wake) {
  uffdio_zeropage z{};
  z.range.start = dst;
  z.range.len = len;
  z.mode = wake ? 0 : UFFDIO_ZEROPAGE_MODE_DONTWAKE;
  if (::ioctl(fd, UFFDIO_ZEROPAGE, &z) == 0)
    return {0, len};
  int err = errno;
  return {err, z.zeropage > 0 ? static_cast<uint64_t>(z.zeropage) : 0};
}

Status wake(int fd, uint64_t addr, uint64_t len) {
  uffdio_range r{addr, len};
  if (::ioctl(fd, UFFDIO_WAKE, &r) < 0)
    return sys_error("UFFDIO_WAKE");
  return {};
}

} // namespace lmig::uffd
