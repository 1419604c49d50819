// Installs received pages into a restored process before it runs: through
// its userfaultfd in the ranges registered there (UFFDIO_COPY allocates and
// fills in one step, about twice as fast as faulting pages in), by writing
// its memory elsewhere (private file pages).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/restore/restore_plan.hpp"
#include "engine/restore/restored_process.hpp"

namespace lmig {

class PageInstaller {
public:
  explicit PageInstaller(RestoredProcess &rp) : rp_(rp) {}
  Status install(uint64_t addr, const uint8_t *data, size_t len);
  uint64_t pages() const { return pages_; }

private:
  bool in_uffd_range(uint64_t addr, size_t len) const;
  RestoredProcess &rp_;
  uint64_t pages_ = 0;
};

} // namespace lmig
