#include "engine/restore/page_installer.hpp"

#include <algorithm>
#include <cstring>

#include "engine/lazy/uffd.hpp"

namespace lmig {

bool PageInstaller::in_uffd_range(uint64_t addr, size_t len) const {
  const auto &ranges = rp_.plan().uffd_ranges;
  auto it = std::upper_bound(ranges.begin(), ranges.end(), addr,
                             [](uint64_t a, const AddressRange &r) { return a < r.end; });
  return it != ranges.end() && it->start <= addr && addr + len <= it->end;
}

Status PageInstaller::install(uint64_t addr, const uint8_t *data, size_t len) {
  if (rp_.uffd() >= 0 && in_uffd_range(addr, len)) {
    uint64_t done = 0;
    while (done < len) {
      auto o = uffd::copy(rp_.uffd(), addr + done, data + done, len - done, false);
      done += o.done;
      if (o.err == 0)
        break;
      if (o.err == EAGAIN)
        continue;
      char b[96];
      snprintf(b, sizeof b, "install %zu bytes at 0x%llx", len,
               static_cast<unsigned long long>(addr));
      return sys_error(b, o.err);
    }
  } else {
    LMIG_TRY(rp_.write_pages(addr, data, len));
  }
  pages_ += len / 4096;
  return {};
}

} // namespace lmig
