// inotify: its watches, re-made on the target by path. fdinfo gives each
// watch's inode and a file handle for it; the path is what the handle
// opens to, or failing that an entry of a directory the process uses that
// is that inode. Unread events cannot be put back into a new instance, so
// an instance holding some is refused (the process keeps running; a later
// attempt may find it drained).
#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "engine/capture/fd_kinds.hpp"
#include "engine/capture/fdinfo.hpp"
#include "engine/capture/proc_maps.hpp"

namespace lmig {
namespace {

bool is_inode(const std::string &path, uint64_t dev, uint64_t ino) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

// mountinfo escapes blanks and backslashes as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; k++) {
        char c = s[i + k];
        ok = ok && c >= '0' && c <= '7';
        v = v * 8 + (c - '0');
      }
      if (ok) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Mount points (as the process sees them) of the filesystem on dev.
std::vector<std::string> mount_points(pid_t pid, uint64_t dev) {
  std::vector<std::string> out;
  auto text = read_proc_file("/proc/" + std::to_string(pid) + "/mountinfo");
  if (!text.ok())
    return out;
  std::string_view t = *text;
  const std::string want = std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
  while (!t.empty()) {
    size_t nl = t.find('\n');
    std::string_view line = t.substr(0, nl);
    t.remove_prefix(nl == std::string_view::npos ? t.size() : nl + 1);
    // id parent major:minor root mount-point ...
    std::vector<std::string_view> f;
    while (!line.empty() && f.size() < 5) {
      size_t b = line.find_first_not_of(' ');
      if (b == std::string_view::npos)
        break;
      line.remove_prefix(b);
      size_t e = line.find(' ');
      f.push_back(line.substr(0, e));
      line.remove_prefix(e == std::string_view::npos ? line.size() : e);
    }
    if (f.size() == 5 && f[2] == want)
      out.push_back(unescape(f[4]));
  }
  return out;
}

// The path the kernel gives the inode that handle names, opened through a
// mount of its filesystem.
std::string path_by_handle(pid_t pid, const InotifyWatchInfo &w, uint64_t dev) {
  if (w.handle.empty())
    return {};
  std::vector<uint8_t> buf(sizeof(file_handle) + w.handle.size());
  auto *fh = reinterpret_cast<file_handle *>(buf.data());
  fh->handle_bytes = static_cast<unsigned>(w.handle.size());
  fh->handle_type = w.handle_type;
  std::memcpy(fh->f_handle, w.handle.data(), w.handle.size());
  for (const auto &mp : mount_points(pid, dev)) {
    // Not O_PATH: open_by_handle_at wants an fd it can fully use.
    UniqueFd mnt(::open(("/proc/" + std::to_string(pid) + "/root" + mp).c_str(),
                        O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!mnt)
      continue;
    UniqueFd obj(::open_by_handle_at(mnt.get(), fh, O_PATH | O_CLOEXEC));
    if (!obj)
      continue;
    char link[4096];
    ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(obj.get())).c_str(), link,
                           sizeof link - 1);
    if (n <= 0)
      continue;
    std::string path(link, static_cast<size_t>(n));
    if (path[0] == '/' && is_inode(path, dev, w.ino))
      return path;
  }
  return {};
}

// An entry of one of dirs (or one of dirs itself) that is the inode.
std::string path_by_search(const std::vector<std::string> &dirs, uint64_t dev, uint64_t ino) {
  size_t budget = 100000; // entries looked at, over all directories
  for (const auto &d : dirs) {
    if (is_inode(d, dev, ino))
      return d;
    DIR *dir = ::opendir(d.c_str());
    if (!dir)
      continue;
    std::string found;
    while (dirent *e = ::readdir(dir)) {
      if (budget-- == 0 || !found.empty())
        break;
      if (e->d_ino != ino || !std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, ".."))
        continue;
      std::string p = (d == "/" ? "" : d) + "/" + e->d_name;
      if (is_inode(p, dev, ino))
        found = p;
    }
    ::closedir(dir);
    if (!found.empty())
      return found;
  }
  return {};
}

} // namespace

Result<InotifyImage> capture_inotify(FdBorrower &borrower, int fd, std::string_view fdinfo,
                                     const std::vector<std::string> &search_dirs) {
  LMIG_ASSIGN_OR_RETURN(UniqueFd dup, borrower.borrow(fd));
  int queued = 0;
  if (::ioctl(dup.get(), FIONREAD, &queued) < 0)
    return sys_error("fd " + std::to_string(fd) + ": FIONREAD on inotify");
  if (queued > 0)
    return unsupported_fd(fd, "inotify with " + std::to_string(queued) +
                                  " bytes of unread events");
  auto watches = parse_inotify_fdinfo(fdinfo);
  if (!watches.ok())
    return std::move(watches).error().context("fd " + std::to_string(fd));
  InotifyImage in;
  for (const auto &w : *watches) {
    const uint64_t dev = kernel_dev_to_dev(w.sdev);
    const std::string what = "inotify watch " + std::to_string(w.wd) + " (inode " +
                             std::to_string(w.ino) + " on device " + std::to_string(major(dev)) +
                             ":" + std::to_string(minor(dev));
    if (w.wd > kMaxInotifyWd)
      return unsupported_fd(fd, what + ", a watch descriptor above " +
                                    std::to_string(kMaxInotifyWd) + ")");
    std::string path = path_by_handle(borrower.pid(), w, dev);
    if (path.empty())
      path = path_by_search(search_dirs, dev, w.ino);
    if (path.empty())
      return unsupported_fd(fd, what + ", whose path cannot be found)");
    in.watches.push_back({w.wd, w.mask, path});
  }
  std::sort(in.watches.begin(), in.watches.end(),
            [](const auto &a, const auto &b) { return a.wd < b.wd; });
  return in;
}

} // namespace lmig
