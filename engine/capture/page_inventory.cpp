#include "engine/capture/page_inventory.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "engine/base/unique_fd.hpp"

namespace lmig {
namespace {
constexpr uint64_t kPage = 4096;
constexpr uint64_t kPresent = 1ull << 63;
constexpr uint64_t kSwapped = 1ull << 62;
constexpr uint64_t kFileOrShared = 1ull << 61;
} // namespace

Result<std::vector<PageRun>> page_inventory(pid_t pid, const std::vector<VmaImage> &vmas) {
  std::string path = "/proc/" + std::to_string(pid) + "/pagemap";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    return sys_error("open " + path);
  std::vector<PageRun> runs;
  std::vector<uint64_t> entries(16384);
  size_t vma_first_run = 0; // runs never span two VMAs
  auto add = [&](uint64_t addr) {
    if (runs.size() > vma_first_run && runs.back().addr + runs.back().npages * kPage == addr)
      runs.back().npages++;
    else
      runs.push_back({addr, 1});
  };
  for (const auto &v : vmas) {
    if (v.kind != VmaKind::anon && v.kind != VmaKind::file_private)
      continue;
    const bool anon = v.kind == VmaKind::anon;
    vma_first_run = runs.size();
    for (uint64_t addr = v.start; addr < v.end;) {
      uint64_t n = std::min<uint64_t>(entries.size(), (v.end - addr) / kPage);
      ssize_t got = ::pread(fd.get(), entries.data(), n * 8, static_cast<off_t>(addr / kPage * 8));
      if (got < 0)
        return sys_error("read " + path);
      if (static_cast<uint64_t>(got) != n * 8)
        return make_error(LMIG_ERR_SYSTEM, "short read of " + path);
      for (uint64_t i = 0; i < n; i++) {
        uint64_t e = entries[i];
        // Private file pages still shared with the page cache (bit 61) are
        // the file's own; only copies the process wrote to are its memory.
        bool has = anon ? (e & (kPresent | kSwapped)) != 0
                        : ((e & kSwapped) || ((e & kPresent) && !(e & kFileOrShared)));
        if (has)
          add(addr + i * kPage);
      }
      addr += n * kPage;
    }
  }
  return runs;
}

} // namespace lmig
