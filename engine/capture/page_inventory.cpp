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
constexpr uint64_t kGuard = 1ull << 58;
} // namespace

Result<std::vector<PageRun>> page_inventory(pid_t pid, const std::vector<VmaImage> &vmas,
                                            std::vector<PageRun> *guards) {
  std::string path = "/proc/" + std::to_string(pid) + "/pagemap";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    return sys_error("open " + path);
  std::vector<PageRun> runs;
  std::vector<uint64_t> entries(16384);
  size_t vma_first_run = 0; // runs never span two VMAs
  size_t vma_first_guard = 0;
  auto add_to = [](std::vector<PageRun> &to, size_t first, uint64_t addr) {
    if (to.size() > first && to.back().addr + to.back().npages * kPage == addr)
      to.back().npages++;
    else
      to.push_back({addr, 1});
  };
  for (const auto &v : vmas) {
    if (v.kind != VmaKind::anon && v.kind != VmaKind::file_private)
      continue;
    const bool anon = v.kind == VmaKind::anon;
    vma_first_run = runs.size();
    vma_first_guard = guards ? guards->size() : 0;
    for (uint64_t addr = v.start; addr < v.end;) {
      uint64_t n = std::min<uint64_t>(entries.size(), (v.end - addr) / kPage);
      ssize_t got = ::pread(fd.get(), entries.data(), n * 8, static_cast<off_t>(addr / kPage * 8));
      if (got < 0)
        return sys_error("read " + path);
      if (static_cast<uint64_t>(got) != n * 8)
        return make_error(LMIG_ERR_SYSTEM, "short read of " + path);
      for (uint64_t i = 0; i < n; i++) {
        uint64_t e = entries[i];
        if (e & kGuard) {
          if (guards)
            add_to(*guards, vma_first_guard, addr + i * kPage);
          continue;
        }
        // Private file pages still shared with the page cache (bit 61) are
        // the file's own; only copies the process wrote to are its memory.
        bool has = anon ? (e & (kPresent | kSwapped)) != 0
                        : ((e & kSwapped) || ((e & kPresent) && !(e & kFileOrShared)));
        if (has)
          add_to(runs, vma_first_run, addr + i * kPage);
      }
      addr += n * kPage;
    }
  }
  return runs;
}

} // namespace lmig
