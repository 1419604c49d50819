// memfds and deleted files: no path leads to them on the target, so their
// bytes travel in the image. They are read through /proc/PID/fd/N, a new
// open of the same inode (the process's offset is not moved), data extents
// only (holes stay holes).
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "engine/capture/fd_kinds.hpp"

namespace lmig {
namespace {

std::string mib(uint64_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

// The data extents of a file of `size` bytes, in order. Without SEEK_DATA
// support (EINVAL) the whole file is one extent.
Result<std::vector<ExtentImage>> read_extents(int fd, uint64_t size, const std::string &what) {
  std::vector<ExtentImage> out;
  uint64_t total = 0;
  off_t at = 0;
  while (static_cast<uint64_t>(at) < size) {
    off_t data = ::lseek(fd, at, SEEK_DATA);
    if (data < 0 && errno == ENXIO)
      break; // only a hole is left
    if (data < 0 && errno == EINVAL)
      data = at;
    else if (data < 0)
      return sys_error("SEEK_DATA in " + what);
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0)
      hole = static_cast<off_t>(size);
    hole = std::min<off_t>(hole, static_cast<off_t>(size));
    if (hole <= data)
      break;
    uint64_t len = static_cast<uint64_t>(hole - data);
    total += len;
    if (total > kMaxFileContents)
      return make_error(LMIG_ERR_UNSUPPORTED, "more than " + mib(kMaxFileContents));
    ExtentImage e;
    e.offset = static_cast<uint64_t>(data);
    e.data.resize(len);
    size_t got = 0;
    while (got < len) {
      ssize_t n = ::pread(fd, e.data.data() + got, len - got, data + static_cast<off_t>(got));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sys_error("read " + what);
      if (n == 0) // shrank meanwhile (not frozen, or shared): keep what is there
        break;
      got += static_cast<size_t>(n);
    }
    e.data.resize(got);
    if (!e.data.empty())
      out.push_back(std::move(e));
    at = hole;
  }
  return out;
}

} // namespace

Result<ContentsImage> capture_contents_at(const std::string &proc_path, const std::string &who,
                                          bool memfd, const std::string &label,
                                          const std::string &name, bool read_data,
                                          bool must_be_unlinked) {
  auto refuse = [&](const std::string &what) {
    return make_error(LMIG_ERR_UNSUPPORTED, who + ": " + what + " is not supported yet");
  };
  UniqueFd in(::open(proc_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!in)
    return sys_error(who + ": open " + label);
  struct stat st {};
  if (::fstat(in.get(), &st) < 0)
    return sys_error(who + ": stat " + label);
  if (must_be_unlinked && st.st_nlink > 0)
    return refuse(label + ", deleted but still linked elsewhere");
  if (memfd) {
    struct statfs fs {};
    if (::fstatfs(in.get(), &fs) == 0 && fs.f_type == HUGETLBFS_MAGIC)
      return refuse("hugetlb " + label);
  }

  ContentsImage c;
  c.size = static_cast<uint64_t>(st.st_size);
  c.mode = st.st_mode & 07777;
  c.uid = st.st_uid;
  c.gid = st.st_gid;
  c.atime_sec = st.st_atim.tv_sec;
  c.atime_nsec = static_cast<uint32_t>(st.st_atim.tv_nsec);
  c.mtime_sec = st.st_mtim.tv_sec;
  c.mtime_nsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  if (memfd) {
    c.name = name;
    int seals = ::fcntl(in.get(), F_GET_SEALS);
    if (seals < 0)
      return sys_error(who + ": F_GET_SEALS on " + label);
    c.seals = static_cast<uint32_t>(seals);
  }
  if (!read_data) {
    // The dry run: what the data would weigh, from the blocks it occupies.
    uint64_t used = std::min<uint64_t>(c.size, static_cast<uint64_t>(st.st_blocks) * 512);
    if (used > kMaxFileContents)
      return refuse(label + " holding more than " + mib(kMaxFileContents));
    return c;
  }
  auto extents = read_extents(in.get(), c.size, label);
  if (!extents.ok()) {
    if (extents.error().code == LMIG_ERR_UNSUPPORTED)
      return refuse(label + " holding " + extents.error().message);
    return std::move(extents).error().context(who);
  }
  c.extents = std::move(*extents);
  return c;
}

Result<ContentsImage> capture_contents(pid_t pid, int fd, FileKind kind, const std::string &link,
                                       bool read_data) {
  const std::string proc = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  std::string what = link.ends_with(" (deleted)") ? link.substr(0, link.size() - 10) : link;
  if (kind == FileKind::memfd)
    what = what.substr(std::string_view("/memfd:").size());
  const std::string label = (kind == FileKind::memfd ? "memfd " : "deleted file ") + what;
  return capture_contents_at(proc, "fd " + std::to_string(fd), kind == FileKind::memfd, label,
                             what, read_data, kind == FileKind::deleted);
}

} // namespace lmig
