#include "engine/capture/shmem_capture.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include <cstdio>

#include "engine/capture/fd_kinds.hpp"

namespace lmig {

Result<std::vector<ShmemMapImage>> capture_shmem(
    pid_t pid, const std::vector<MapsEntry> &maps, const std::vector<VmaImage> &vmas,
    FdTable &fds, bool read_data,
    const std::map<std::pair<uint64_t, uint64_t>, int32_t> *shared) {
  std::vector<ShmemMapImage> out;
  uint64_t next_id = 0;
  for (const auto &c : fds.contents)
    next_id = std::max(next_id, c.id);
  size_t mi = 0;
  for (const auto &v : vmas) {
    if (v.kind != VmaKind::shmem)
      continue;
    while (mi < maps.size() && maps[mi].start != v.start)
      mi++;
    if (mi == maps.size())
      return make_error(LMIG_ERR_SYSTEM, "shmem mapping vanished from the maps");
    const MapsEntry &m = maps[mi];
    ShmemMapImage s;
    s.start = v.start;
    s.anon = !m.path.starts_with("/memfd:");
    const std::pair<uint64_t, uint64_t> inode{makedev(m.dev_major, m.dev_minor), m.inode};
    auto [it, fresh] = fds.contents_by_inode.emplace(inode, next_id + 1);
    const int32_t slot = [&] {
      if (!shared)
        return -1;
      auto f = shared->find(inode);
      return f == shared->end() ? -1 : f->second;
    }();
    if (fresh && slot >= 0) {
      // Made by the tree's root: only named here.
      next_id++;
      ContentsImage c;
      c.id = it->second;
      c.shared_slot = slot;
      fds.contents.push_back(std::move(c));
    } else if (fresh) {
      next_id++;
      char range[64];
      snprintf(range, sizeof range, "%llx-%llx", static_cast<unsigned long long>(m.start),
               static_cast<unsigned long long>(m.end));
      const std::string name = s.anon ? "" : m.path.substr(std::string_view("/memfd:").size());
      const std::string label = s.anon ? "shared anonymous memory" : "memfd " + name;
      LMIG_ASSIGN_OR_RETURN(
          ContentsImage c,
          capture_contents_at("/proc/" + std::to_string(pid) + "/map_files/" + range,
                              std::string("mapping ") + range, !s.anon, label, name, read_data,
                              false));
      c.id = it->second;
      fds.contents.push_back(std::move(c));
    }
    s.contents_id = it->second;
    // The target seals a memfd before mapping it: a writable mapping made
    // before F_SEAL_FUTURE_WRITE could not be made again.
    if (!s.anon && (v.prot & PROT_WRITE))
      for (const auto &c : fds.contents)
        if (c.id == s.contents_id && (c.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))) {
          char range[64];
          snprintf(range, sizeof range, "%llx-%llx", static_cast<unsigned long long>(m.start),
                   static_cast<unsigned long long>(m.end));
          return make_error(LMIG_ERR_UNSUPPORTED,
                            std::string("mapping ") + range +
                                ": a writable mapping of a write-sealed memfd is not supported yet");
        }
    out.push_back(s);
  }
  return out;
}

} // namespace lmig
