// Classifies each fd (by its /proc link, its inode's type and fdinfo),
// groups fds sharing an open file, and hands each open file to the capture
// of its kind (fd_kinds.hpp). What no kind covers is refused by name.
#include "engine/capture/fd_capture.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "engine/base/unique_fd.hpp"
#include "engine/capture/fd_kinds.hpp"
#include "engine/capture/fd_owner.hpp"
#include "engine/capture/file_locks.hpp"
#include "engine/capture/terminals.hpp"
#include "engine/capture/proc_maps.hpp"
#include "engine/capture/proc_status.hpp"

namespace lmig {

Error unsupported_fd(int fd, const std::string &what) {
  Error e = make_error(LMIG_ERR_UNSUPPORTED,
                       "fd " + std::to_string(fd) + ": " + what + " is not supported yet");
  e.fd = fd;
  return e;
}

namespace {

// Names a socket that cannot move, e.g. "TCP socket", from a borrowed
// duplicate of it.
std::string socket_kind(int sock) {
  int domain = 0, type = 0;
  socklen_t len = sizeof domain;
  ::getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &domain, &len);
  len = sizeof type;
  ::getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len);
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

std::string strip_deleted(const std::string &link) {
  return link.ends_with(" (deleted)") ? link.substr(0, link.size() - 10) : link;
}

std::string dir_of(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

// An fd as found in /proc, before its kind is captured. number: what the
// image calls it (the fd itself, or a shared slot of the tree's files).
struct FoundFd : ProcFd {
  int number;
  int32_t shared_slot = -1; // made by the tree's root: only its kind is captured here
};

// The kind of an anon_inode file from its link ("anon_inode:[eventfd]").
std::optional<FileKind> anon_kind(const std::string &name) {
  if (name == "[eventfd]")
    return FileKind::eventfd;
  if (name == "[eventpoll]")
    return FileKind::epoll;
  if (name == "[signalfd]")
    return FileKind::signalfd;
  if (name == "[timerfd]")
    return FileKind::timerfd;
  if (name == "inotify")
    return FileKind::inotify;
  return std::nullopt;
}

// The kind of an fd, with its path where it has one; refuses what cannot
// move.
Result<FileImage> classify(FdBorrower &borrower, const FoundFd &f, const FdInfo &info) {
  const std::string &link = f.link;
  const struct stat &st = f.st;
  FileImage img;
  img.flags = info.flags & ~static_cast<uint32_t>(O_CLOEXEC);
  img.pos = info.pos;
  if (link.starts_with("socket:")) {
    LMIG_ASSIGN_OR_RETURN(UniqueFd sock, borrower.borrow(f.fd));
    int domain = 0;
    socklen_t len = sizeof domain;
    ::getsockopt(sock.get(), SOL_SOCKET, SO_DOMAIN, &domain, &len);
    if (domain != AF_UNIX)
      return unsupported_fd(f.fd, socket_kind(sock.get()));
    img.kind = FileKind::unix_socket;
    return img;
  }
  if (link.starts_with("anon_inode:")) {
    std::string name = link.substr(11);
    auto kind = anon_kind(name);
    if (!kind) {
      if (name.size() > 2 && name.front() == '[' && name.back() == ']')
        name = name.substr(1, name.size() - 2);
      return unsupported_fd(f.fd, name);
    }
    img.kind = *kind;
    return img;
  }
  const bool deleted = link.ends_with(" (deleted)");
  if (S_ISREG(st.st_mode)) {
    if (link.starts_with("/memfd:") && deleted) {
      img.kind = FileKind::memfd;
      return img;
    }
    if (link[0] != '/')
      return unsupported_fd(f.fd, "file " + link);
    img.kind = deleted ? FileKind::deleted : FileKind::regular;
    img.path = strip_deleted(link);
    img.size = static_cast<uint64_t>(st.st_size);
    return img;
  }
  if (S_ISDIR(st.st_mode)) {
    if (deleted || link[0] != '/')
      return unsupported_fd(f.fd, "deleted directory");
    img.kind = FileKind::directory;
    img.path = link;
    return img;
  }
  if (S_ISCHR(st.st_mode)) {
    if (link[0] != '/' || deleted)
      return unsupported_fd(f.fd, "character device " + link);
    if (auto tty = terminal_kind(st.st_rdev, link))
      return unsupported_fd(f.fd, *tty);
    img.kind = FileKind::char_device;
    img.path = link;
    return img;
  }
  if (S_ISFIFO(st.st_mode)) {
    if (link.starts_with("pipe:")) {
      img.kind = FileKind::pipe;
      img.pipe_write_end = (img.flags & O_ACCMODE) == O_WRONLY;
      return img;
    }
    if (link[0] != '/' || deleted)
      return unsupported_fd(f.fd, "deleted FIFO " + strip_deleted(link));
    img.kind = FileKind::fifo;
    img.path = link;
    return img;
  }
  if (S_ISBLK(st.st_mode))
    return unsupported_fd(f.fd, "block device " + link);
  return unsupported_fd(f.fd, link);
}

// The pipes and FIFOs of the table: which files use each buffer.
struct PipeUse {
  uint64_t id = 0;
  bool fifo = false;
  int read_fd = -1, write_fd = -1, first_fd = -1; // indices into the found fds
  std::string path;
};

// Borrows from whichever process holds an fd.
class Borrowers {
public:
  FdBorrower &of(pid_t pid) {
    auto it = by_pid_.find(pid);
    if (it == by_pid_.end())
      it = by_pid_.emplace(pid, std::make_unique<FdBorrower>(pid)).first;
    return *it->second;
  }

private:
  std::map<pid_t, std::unique_ptr<FdBorrower>> by_pid_;
};

} // namespace

void FdTable::move_into(ProcessImage &im) && {
  im.files = std::move(files);
  im.fds = std::move(fds);
  im.pipes = std::move(pipes);
  im.contents = std::move(contents);
  im.eventfds = std::move(eventfds);
  im.epolls = std::move(epolls);
  im.signalfds = std::move(signalfds);
  im.timerfds = std::move(timerfds);
  im.inotifies = std::move(inotifies);
  im.unix_sockets = std::move(unix_sockets);
}

Result<std::optional<ProcFd>> read_proc_fd(pid_t pid, int fd) {
  const std::string proc = "/proc/" + std::to_string(pid);
  const std::string p = proc + "/fd/" + std::to_string(fd);
  auto link = read_link(p);
  if (!link.ok()) {
    if (link.error().sys_errno == ENOENT)
      return std::optional<ProcFd>{};
    return std::move(link).error();
  }
  ProcFd f{pid, fd, *link, {}, {}};
  if (::stat(p.c_str(), &f.st) < 0) {
    if (errno == ENOENT)
      return std::optional<ProcFd>{};
    return sys_error("stat " + p + " (" + *link + ")");
  }
  auto info = read_proc_file(proc + "/fdinfo/" + std::to_string(fd));
  if (!info.ok()) {
    if (info.error().sys_errno == ENOENT)
      return std::optional<ProcFd>{};
    return std::move(info).error();
  }
  f.fdinfo = std::move(*info);
  return std::optional<ProcFd>(std::move(f));
}

bool same_open_file(pid_t pa, int a, pid_t pb, int b) {
  return ::syscall(SYS_kcmp, pa, pb, KCMP_FILE, a, b) == 0;
}

namespace {

// What each fd is (fds closed meanwhile, before the freeze, are skipped).
Result<std::vector<FoundFd>> find_fds(const std::vector<FdRef> &refs,
                                      const std::map<int, int32_t> *shared_slots) {
  std::vector<FoundFd> found;
  for (const auto &ref : refs) {
    LMIG_ASSIGN_OR_RETURN(auto proc_fd, read_proc_fd(ref.pid, ref.fd));
    if (!proc_fd)
      continue;
    FoundFd f{std::move(*proc_fd), ref.number};
    if (shared_slots)
      if (auto it = shared_slots->find(ref.fd); it != shared_slots->end())
        f.shared_slot = it->second;
    found.push_back(std::move(f));
  }
  return found;
}

Result<FdTable> capture_found(std::vector<FoundFd> found, bool read_data, bool tree_files);

} // namespace

Result<FdTable> capture_fds(pid_t pid, bool read_data,
                            const std::map<int, int32_t> *shared_slots) {
  LMIG_ASSIGN_OR_RETURN(std::vector<int> numbers, list_fds(pid));
  std::vector<FdRef> refs;
  for (int fd : numbers)
    refs.push_back({pid, fd, fd});
  LMIG_ASSIGN_OR_RETURN(auto found, find_fds(refs, shared_slots));
  return capture_found(std::move(found), read_data, false);
}

void check_fds(pid_t pid, const std::map<int, int32_t> *shared_slots,
               std::vector<Error> &blockers) {
  auto numbers = list_fds(pid);
  if (!numbers.ok())
    return blockers.push_back(std::move(numbers).error());
  std::vector<FdRef> refs;
  for (int fd : *numbers)
    refs.push_back({pid, fd, fd});
  auto found = find_fds(refs, shared_slots);
  if (!found.ok())
    return blockers.push_back(std::move(found).error());
  for (;;) {
    auto t = capture_found(*found, false, false);
    if (t.ok())
      return;
    Error e = std::move(t).error();
    const int fd = e.fd;
    blockers.push_back(std::move(e));
    const size_t before = found->size();
    std::erase_if(*found, [fd](const FoundFd &f) { return f.fd == fd; });
    if (fd < 0 || found->size() == before)
      return;
  }
}

Result<FdTable> capture_fd_set(const std::vector<FdRef> &refs,
                               const std::vector<SharedMapping> &mappings, bool read_data) {
  LMIG_ASSIGN_OR_RETURN(auto found, find_fds(refs, nullptr));
  if (found.size() != refs.size())
    return make_error(LMIG_ERR_NOT_MIGRATABLE,
                      "a file shared by the processes of the tree was closed while frozen");
  LMIG_ASSIGN_OR_RETURN(FdTable t, capture_found(std::move(found), read_data, true));
  uint64_t next_id = 0;
  for (const auto &c : t.contents)
    next_id = std::max(next_id, c.id);
  for (const auto &m : mappings) {
    // The inode's bytes, once: through an open file of it if the table has
    // one, else through the mapping.
    auto [it, fresh] = t.contents_by_inode.emplace(std::pair{m.dev, m.ino}, next_id + 1);
    if (fresh) {
      next_id++;
      char range[64];
      snprintf(range, sizeof range, "%llx-%llx", static_cast<unsigned long long>(m.start),
               static_cast<unsigned long long>(m.end));
      LMIG_ASSIGN_OR_RETURN(
          ContentsImage c,
          capture_contents_at("/proc/" + std::to_string(m.pid) + "/map_files/" + range,
                              std::string("mapping ") + range, !m.anon,
                              m.anon ? "shared anonymous memory" : "a shared memfd", "",
                              read_data, false));
      c.id = it->second;
      c.anon = m.anon;
      t.contents.push_back(std::move(c));
    }
    FileImage f;
    f.id = static_cast<uint32_t>(t.files.size() + 1);
    f.kind = FileKind::memfd;
    f.flags = O_RDWR;
    f.contents_id = it->second;
    t.files.push_back(f);
    t.fds.push_back({m.slot, f.id, true});
  }
  return t;
}

namespace {

Result<FdTable> capture_found(std::vector<FoundFd> found, bool read_data, bool tree_files) {
  FdTable t;
  Borrowers borrowers;
  std::set<int> open_fds; // a process's own table: every fd an epoll may watch
  for (const auto &f : found)
    open_fds.insert(f.fd);

  // 2. One FileImage per open file description: fds that share one (dup,
  // fork) share offset and status flags, and are restored as one file.
  struct Rep {
    size_t found_index;
    uint32_t file_id;
  };
  std::vector<Rep> reps;
  std::map<std::pair<uint64_t, uint64_t>, PipeUse> pipes;    // by (dev, ino)
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> contents; // by (dev, ino)
  for (size_t i = 0; i < found.size(); i++) {
    const FoundFd &f = found[i];
    LMIG_TRY(refuse_held_locks(f.fd, f.link, f.fdinfo));
    auto info = parse_fdinfo(f.fdinfo);
    if (!info.ok())
      return std::move(info).error().context("fd " + std::to_string(f.fd));
    LMIG_ASSIGN_OR_RETURN(FileImage img, classify(borrowers.of(f.pid), f, *info));
    // An owner only acts with O_ASYNC, or on a socket (SIGURG): the other
    // fds are not borrowed for it, to keep the freeze short.
    if (f.shared_slot < 0 && ((info->flags & O_ASYNC) || img.kind == FileKind::unix_socket))
      LMIG_TRY(capture_fd_owner(borrowers.of(f.pid), f.fd, tree_files, img));
    // O_TMPFILE (__O_TMPFILE | O_DIRECTORY) is a way of making a file, not
    // a state to open with again. A deleted file keeps __O_TMPFILE: the
    // target makes it linkable again if it was (see fd_plan).
    if (img.kind != FileKind::directory)
      img.flags &= ~static_cast<uint32_t>(O_DIRECTORY);
    if (img.kind != FileKind::deleted)
      img.flags &= ~static_cast<uint32_t>(O_TMPFILE & ~O_DIRECTORY);
    bool cloexec = (info->flags & O_CLOEXEC) != 0;

    uint32_t file_id = 0;
    for (const auto &r : reps) {
      const FoundFd &o = found[r.found_index];
      if (o.st.st_dev == f.st.st_dev && o.st.st_ino == f.st.st_ino &&
          same_open_file(o.pid, o.fd, f.pid, f.fd)) {
        file_id = r.file_id;
        break;
      }
    }
    if (file_id == 0 && f.shared_slot >= 0) {
      // Made by the tree's root; nothing of what it holds is read here.
      file_id = static_cast<uint32_t>(t.files.size() + 1);
      img.id = file_id;
      img.shared_slot = f.shared_slot;
      img.pos = 0;
      t.files.push_back(std::move(img));
      reps.push_back({i, file_id});
    } else if (file_id == 0) {
      file_id = static_cast<uint32_t>(t.files.size() + 1);
      img.id = file_id;
      const std::pair<uint64_t, uint64_t> inode{f.st.st_dev, f.st.st_ino};
      if (img.kind == FileKind::pipe || img.kind == FileKind::fifo) {
        auto &use = pipes[inode];
        if (use.id == 0) {
          use.id = pipes.size();
          use.fifo = img.kind == FileKind::fifo;
          use.first_fd = static_cast<int>(i);
          use.path = img.path;
        }
        img.pipe_id = use.id;
        uint32_t mode = img.flags & O_ACCMODE;
        if (mode != O_WRONLY && use.read_fd < 0)
          use.read_fd = static_cast<int>(i);
        if (mode != O_RDONLY && use.write_fd < 0)
          use.write_fd = static_cast<int>(i);
      }
      if (img.kind == FileKind::deleted || img.kind == FileKind::memfd) {
        auto [it, fresh] = contents.emplace(inode, contents.size() + 1);
        img.contents_id = it->second;
        if (fresh) {
          LMIG_ASSIGN_OR_RETURN(ContentsImage c,
                                capture_contents(f.pid, f.fd, img.kind, f.link, read_data));
          c.id = it->second;
          t.contents.push_back(std::move(c));
        }
      }
      t.files.push_back(std::move(img));
      reps.push_back({i, file_id});
    }
    t.fds.push_back({f.number, file_id, cloexec});
  }
  t.contents_by_inode = contents;

  // 3. What each file holds, by kind.
  std::vector<std::string> search_dirs; // for inotify watches
  if (!found.empty())
    if (auto cwd = read_link("/proc/" + std::to_string(found[0].pid) + "/cwd"); cwd.ok())
      search_dirs.push_back(*cwd);
  for (const auto &file : t.files)
    if (file.kind == FileKind::regular || file.kind == FileKind::directory ||
        file.kind == FileKind::fifo || file.kind == FileKind::deleted) {
      std::string d = file.kind == FileKind::directory ? file.path : dir_of(file.path);
      if (std::find(search_dirs.begin(), search_dirs.end(), d) == search_dirs.end())
        search_dirs.push_back(d);
    }

  std::map<uint64_t, uint32_t> socket_file; // socket inode -> file id
  std::map<uint32_t, UnixSocketFacts> socket_facts;
  for (const auto &r : reps) {
    const FoundFd &f = found[r.found_index];
    const FileImage &file = t.files[r.file_id - 1];
    if (file.shared_slot >= 0)
      continue;
    FdBorrower &borrower = borrowers.of(f.pid);
    switch (file.kind) {
    case FileKind::eventfd: {
      LMIG_ASSIGN_OR_RETURN(EventfdImage e, capture_eventfd(f.fd, f.fdinfo));
      e.file_id = r.file_id;
      t.eventfds.push_back(e);
      break;
    }
    case FileKind::signalfd: {
      LMIG_ASSIGN_OR_RETURN(SignalfdImage s, capture_signalfd(f.fd, f.fdinfo));
      s.file_id = r.file_id;
      t.signalfds.push_back(s);
      break;
    }
    case FileKind::timerfd: {
      LMIG_ASSIGN_OR_RETURN(TimerfdImage tf, capture_timerfd(borrower, f.fd, f.fdinfo, read_data));
      tf.file_id = r.file_id;
      t.timerfds.push_back(tf);
      break;
    }
    case FileKind::epoll: {
      LMIG_ASSIGN_OR_RETURN(EpollImage e, capture_epoll(f.pid, f.fd, f.fdinfo, open_fds));
      e.file_id = r.file_id;
      t.epolls.push_back(std::move(e));
      break;
    }
    case FileKind::inotify: {
      LMIG_ASSIGN_OR_RETURN(InotifyImage in,
                            capture_inotify(borrower, f.fd, f.fdinfo, search_dirs));
      in.file_id = r.file_id;
      t.inotifies.push_back(std::move(in));
      break;
    }
    case FileKind::unix_socket: {
      LMIG_ASSIGN_OR_RETURN(auto facts, describe_unix_socket(f.pid, f.fd, f.st.st_ino, f.fdinfo));
      socket_file[f.st.st_ino] = r.file_id;
      socket_facts[r.file_id] = facts;
      break;
    }
    default: break;
    }
  }

  // 4. Unix sockets move in pairs.
  std::map<uint32_t, const FoundFd *> file_fd; // file id -> its first fd
  for (const auto &r : reps)
    file_fd[r.file_id] = &found[r.found_index];
  for (const auto &[file_id, facts] : socket_facts) {
    const int fd = file_fd[file_id]->fd;
    auto peer = socket_file.find(facts.peer_ino);
    if (peer == socket_file.end())
      return unsupported_fd(fd, "unix socket whose peer is held outside the process");
    auto &peer_facts = socket_facts[peer->second];
    if (socket_file[peer_facts.peer_ino] != file_id)
      return unsupported_fd(fd, "unix socket whose peer is connected elsewhere");
    LMIG_ASSIGN_OR_RETURN(UnixSocketImage u, capture_unix_socket(
                                                 borrowers.of(file_fd[file_id]->pid), fd, facts,
                                                 read_data));
    u.file_id = file_id;
    u.peer_file_id = peer->second;
    t.unix_sockets.push_back(std::move(u));
  }

  // 5. Pipe and FIFO buffers. An anonymous pipe moves only with both ends:
  // the other end's holder would lose it. A FIFO is reopened by path and
  // keeps what it buffers.
  for (const auto &[inode, use] : pipes) {
    if (!use.fifo && (use.read_fd < 0 || use.write_fd < 0))
      return unsupported_fd(found[static_cast<size_t>(use.first_fd)].fd,
                            std::string("pipe whose ") + (use.read_fd < 0 ? "read" : "write") +
                                " end is held outside the process");
    PipeImage p;
    if (read_data) {
      // A duplicate of an end that reads; a FIFO held only for writing is
      // opened for reading through /proc (any opener can read a FIFO).
      UniqueFd reader;
      if (use.read_fd >= 0) {
        const FoundFd &r = found[static_cast<size_t>(use.read_fd)];
        LMIG_ASSIGN_OR_RETURN(reader, borrowers.of(r.pid).borrow(r.fd));
      } else {
        const FoundFd &w = found[static_cast<size_t>(use.write_fd)];
        std::string path = "/proc/" + std::to_string(w.pid) + "/fd/" + std::to_string(w.fd);
        reader.reset(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
        if (!reader)
          return sys_error("open " + path + " for reading");
      }
      const std::string what =
          use.fifo ? "FIFO " + use.path
                   : "pipe of fd " + std::to_string(found[static_cast<size_t>(use.first_fd)].fd);
      LMIG_ASSIGN_OR_RETURN(p, read_pipe_buffer(reader.get(), what));
    }
    p.id = use.id;
    t.pipes.push_back(std::move(p));
  }
  std::sort(t.pipes.begin(), t.pipes.end(),
            [](const PipeImage &a, const PipeImage &b) { return a.id < b.id; });
  return t;
}

} // namespace

} // namespace lmig
