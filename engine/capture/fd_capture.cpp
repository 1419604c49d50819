#include "engine/capture/fd_capture.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "engine/base/unique_fd.hpp"
#include "engine/capture/proc_status.hpp"

namespace lmig {
namespace {

Error unsupported_fd(int fd, const std::string &what) {
  return make_error(LMIG_ERR_UNSUPPORTED,
                    "fd " + std::to_string(fd) + ": " + what + " is not supported yet");
}

Result<std::string> read_link(const std::string &path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0)
    return sys_error("readlink " + path);
  return std::string(buf, static_cast<size_t>(n));
}

// Names a socket the process holds, e.g. "TCP socket", by borrowing a
// duplicate of it through a pidfd (the process is not affected).
std::string socket_kind(pid_t pid, int fd) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd)
    return "socket";
  UniqueFd sock(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
  if (!sock)
    return "socket";
  int domain = 0, type = 0, proto = 0;
  socklen_t len = sizeof domain;
  ::getsockopt(sock.get(), SOL_SOCKET, SO_DOMAIN, &domain, &len);
  len = sizeof type;
  ::getsockopt(sock.get(), SOL_SOCKET, SO_TYPE, &type, &len);
  len = sizeof proto;
  ::getsockopt(sock.get(), SOL_SOCKET, SO_PROTOCOL, &proto, &len);
  if (domain == AF_UNIX)
    return "unix socket";
  if (domain == AF_INET || domain == AF_INET6) {
    std::string fam = domain == AF_INET6 ? " (IPv6)" : "";
    if (type == SOCK_STREAM)
      return "TCP socket" + fam;
    if (type == SOCK_DGRAM)
      return "UDP socket" + fam;
    return "raw IP socket" + fam;
  }
  if (domain == AF_NETLINK)
    return "netlink socket";
  if (domain == AF_PACKET)
    return "packet socket";
  return "socket of family " + std::to_string(domain);
}

int kcmp_file(pid_t pid, int a, int b) {
  return static_cast<int>(::syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b));
}

Result<PipeImage> read_pipe(pid_t pid, int read_fd, uint64_t ino) {
  std::string path = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(read_fd);
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!in)
    return sys_error("open " + path);
  PipeImage p;
  p.id = ino;
  int cap = ::fcntl(in.get(), F_GETPIPE_SZ);
  if (cap < 0)
    return sys_error("F_GETPIPE_SZ " + path);
  p.capacity = static_cast<uint32_t>(cap);
  int queued = 0;
  if (::ioctl(in.get(), FIONREAD, &queued) < 0)
    return sys_error("FIONREAD " + path);
  if (queued == 0)
    return p;
  // tee() duplicates the buffered bytes into our own pipe without consuming
  // them: the process keeps its data whatever happens next.
  int tmp[2];
  if (::pipe2(tmp, O_CLOEXEC | O_NONBLOCK) < 0)
    return sys_error("pipe2");
  UniqueFd tr(tmp[0]), tw(tmp[1]);
  if (::fcntl(tw.get(), F_SETPIPE_SZ, cap) < 0)
    return sys_error("F_SETPIPE_SZ");
  ssize_t n = ::tee(in.get(), tw.get(), static_cast<size_t>(queued), SPLICE_F_NONBLOCK);
  if (n < 0)
    return sys_error("tee " + path);
  if (n != queued)
    return make_error(LMIG_ERR_SYSTEM, "tee " + path + " copied " + std::to_string(n) + " of " +
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

} // namespace

Result<FdTable> capture_fds(pid_t pid, bool read_pipe_data) {
  const std::string base = "/proc/" + std::to_string(pid) + "/fd";
  DIR *d = ::opendir(base.c_str());
  if (!d)
    return sys_error("open " + base);
  std::vector<int> fds;
  while (dirent *e = ::readdir(d))
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
      fds.push_back(std::atoi(e->d_name));
  ::closedir(d);
  std::sort(fds.begin(), fds.end());

  FdTable t;
  struct Rep {
    int fd;
    uint32_t file_id;
    dev_t dev;
    ino_t ino;
  };
  std::vector<Rep> reps;
  struct PipeEnds {
    int read_fd = -1, write_fd = -1, first_fd = -1;
  };
  std::map<uint64_t, PipeEnds> pipes;

  for (int fd : fds) {
    std::string p = base + "/" + std::to_string(fd);
    auto link = read_link(p);
    if (!link.ok()) {
      if (link.error().sys_errno == ENOENT)
        continue; // closed meanwhile (not frozen yet)
      return std::move(link).error();
    }
    struct stat st {};
    if (::stat(p.c_str(), &st) < 0) {
      if (link->starts_with("socket:"))
        return unsupported_fd(fd, socket_kind(pid, fd));
      if (link->starts_with("anon_inode:"))
        return unsupported_fd(fd, link->substr(11));
      if (errno == ENOENT)
        continue;
      return sys_error("stat " + p + " (" + *link + ")");
    }
    auto info = read_fdinfo(pid, fd);
    if (!info.ok()) {
      if (info.error().sys_errno == ENOENT)
        continue;
      return std::move(info).error();
    }
    FileImage f;
    f.flags = info->flags & ~static_cast<uint32_t>(O_CLOEXEC);
    f.pos = info->pos;
    bool cloexec = (info->flags & O_CLOEXEC) != 0;

    if (link->starts_with("socket:"))
      return unsupported_fd(fd, socket_kind(pid, fd));
    if (link->starts_with("anon_inode:")) {
      std::string kind = link->substr(11);
      if (kind.size() > 2 && kind.front() == '[' && kind.back() == ']')
        kind = kind.substr(1, kind.size() - 2);
      return unsupported_fd(fd, kind);
    }
    if (S_ISREG(st.st_mode)) {
      if (link->starts_with("/memfd:"))
        return unsupported_fd(fd, "memfd");
      if (link->ends_with(" (deleted)"))
        return unsupported_fd(fd, "deleted file " + link->substr(0, link->size() - 10));
      if ((*link)[0] != '/')
        return unsupported_fd(fd, "file " + *link);
      f.kind = FileKind::regular;
      f.path = *link;
      f.size = static_cast<uint64_t>(st.st_size);
    } else if (S_ISDIR(st.st_mode)) {
      if (link->ends_with(" (deleted)") || (*link)[0] != '/')
        return unsupported_fd(fd, "deleted directory");
      f.kind = FileKind::directory;
      f.path = *link;
    } else if (S_ISCHR(st.st_mode)) {
      if ((*link)[0] != '/' || link->ends_with(" (deleted)"))
        return unsupported_fd(fd, "character device " + *link);
      f.kind = FileKind::char_device;
      f.path = *link;
    } else if (S_ISFIFO(st.st_mode)) {
      if (!link->starts_with("pipe:"))
        return unsupported_fd(fd, "FIFO " + *link);
      f.kind = FileKind::pipe;
      f.pipe_id = static_cast<uint64_t>(st.st_ino);
      f.pipe_write_end = (f.flags & O_ACCMODE) == O_WRONLY;
      auto &ends = pipes[f.pipe_id];
      if (ends.first_fd < 0)
        ends.first_fd = fd;
      (f.pipe_write_end ? ends.write_fd : ends.read_fd) = fd;
    } else if (S_ISBLK(st.st_mode)) {
      return unsupported_fd(fd, "block device " + *link);
    } else {
      return unsupported_fd(fd, *link);
    }

    // fds that share one open file description (dup, fork) share offset and
    // status flags: restore them as one file opened once.
    uint32_t file_id = 0;
    bool shared = false;
    for (const auto &r : reps) {
      if (r.dev == st.st_dev && r.ino == st.st_ino && kcmp_file(pid, r.fd, fd) == 0) {
        file_id = r.file_id;
        shared = true;
        break;
      }
    }
    if (!shared) {
      file_id = static_cast<uint32_t>(t.files.size() + 1);
      f.id = file_id;
      t.files.push_back(f);
      reps.push_back({fd, file_id, st.st_dev, st.st_ino});
    }
    t.fds.push_back({fd, file_id, cloexec});
  }

  for (const auto &[ino, ends] : pipes) {
    if (ends.read_fd < 0 || ends.write_fd < 0)
      return unsupported_fd(ends.first_fd,
                            std::string("pipe whose ") + (ends.read_fd < 0 ? "read" : "write") +
                                " end is held outside the process");
    if (read_pipe_data) {
      LMIG_ASSIGN_OR_RETURN(PipeImage pi, read_pipe(pid, ends.read_fd, ino));
      t.pipes.push_back(std::move(pi));
    } else {
      t.pipes.push_back(PipeImage{ino, 0, {}});
    }
  }
  return t;
}

} // namespace lmig
