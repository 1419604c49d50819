#include "transport/frame_ring.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include "engine/base/unique_fd.hpp"

namespace lmig {

Result<FrameRing> FrameRing::create(size_t size) {
  if (size == 0 || size % 4096)
    return make_error(LMIG_ERR_INVALID_ARGUMENT, "ring size must be a multiple of 4096");
  UniqueFd mem(::memfd_create("lmig-frame-ring", MFD_CLOEXEC));
  if (!mem)
    return sys_error("memfd_create");
  if (::ftruncate(mem.get(), static_cast<off_t>(size)) < 0)
    return sys_error("ftruncate frame ring");
  void *reserve = ::mmap(nullptr, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (reserve == MAP_FAILED)
    return sys_error("reserve frame ring");
  FrameRing r;
  r.base_ = Mapping(reserve, 2 * size);
  r.size_ = size;
  for (int half = 0; half < 2; half++) {
    void *want = r.base_.bytes() + half * size;
    void *p = ::mmap(want, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, mem.get(), 0);
    if (p == MAP_FAILED)
      return sys_error("map frame ring");
  }
  return r;
}

} // namespace lmig
