#include "engine/restore/fd_plan.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "engine/base/unique_fd.hpp"
#include "engine/capture/fd_kinds.hpp"

namespace lmig {
namespace {

Error target_failed(const std::string &what, int err = 0) {
  return make_error(LMIG_ERR_TARGET_FAILED,
                    what + (err ? std::string(": ") + std::strerror(err) : ""), err);
}

std::string dir_of(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

// Files opened by path must be there; a FIFO must still be one.
Status check_path(const FileImage &f) {
  struct stat st {};
  switch (f.kind) {
  case FileKind::regular:
  case FileKind::directory:
  case FileKind::char_device:
    if (::stat(f.path.c_str(), &st) < 0)
      return target_failed("open file " + f.path + " cannot be used", errno);
    return {};
  case FileKind::fifo:
    if (::stat(f.path.c_str(), &st) < 0)
      return target_failed("FIFO " + f.path + " cannot be used", errno);
    if (!S_ISFIFO(st.st_mode))
      return target_failed("FIFO " + f.path + " is not a FIFO here");
    return {};
  default: return {};
  }
}

// Whether the restore must put a FIFO's captured bytes into it. Not when
// it already holds exactly them: then it is the very FIFO the frozen source
// still holds open (source and target share a filesystem), and its bytes
// wait there. Bytes of someone else's make the restore fail.
Result<bool> fifo_needs_data(const std::string &path, const std::vector<uint8_t> &data) {
  if (data.empty())
    return false;
  // O_RDWR opens a FIFO without waiting for a peer.
  UniqueFd fifo(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fifo)
    return target_failed("FIFO " + path + " cannot be opened", errno);
  LMIG_ASSIGN_OR_RETURN(PipeImage here, read_pipe_buffer(fifo.get(), "FIFO " + path));
  if (here.data.empty())
    return true;
  if (here.data == data)
    return false;
  return target_failed("FIFO " + path + " holds " + std::to_string(here.data.size()) +
                       " bytes of other data here");
}

// A deleted file comes back unnamed in the directory it lived in
// (O_TMPFILE): on the same filesystem, so what the process learns from
// fstat/fstatfs, where its bytes live, and linkat() to name it again all
// hold. Only where that directory is gone or its filesystem cannot make
// unnamed files is it a memfd.
bool can_make_tmpfile(const std::string &dir) {
  UniqueFd probe(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  return probe.valid();
}

} // namespace

Status plan_fds(const ProcessImage &im, RestorePlan &plan) {
  for (const auto &f : im.files)
    if (f.shared_slot < 0) // the tree's root opens a shared one
      LMIG_TRY(check_path(f));
  for (const auto &n : im.inotifies)
    for (const auto &w : n.watches) {
      struct stat st {};
      if (::lstat(w.path.c_str(), &st) < 0)
        return target_failed("inotify watch " + std::to_string(w.wd) + " on " + w.path +
                                 " cannot be made",
                             errno);
    }

  std::map<uint64_t, int> pipe_index;
  for (const auto &p : im.pipes) {
    pipe_index[p.id] = static_cast<int>(plan.pipes.size());
    plan.pipes.push_back({p.capacity, &p.data, {-1, -1}, {}, true, kNoFile});
  }
  std::map<uint64_t, int> contents_index;
  for (const auto &c : im.contents) {
    contents_index[c.id] = static_cast<int>(plan.contents.size());
    plan.contents.push_back({&c, true, {}, false, c.name, -1, kNoFile});
    plan.contents.back().anon_shmem = c.anon;
    plan.contents.back().slot = c.shared_slot;
  }
  std::map<uint32_t, const UnixSocketImage *> sockets;
  for (const auto &u : im.unix_sockets)
    sockets[u.file_id] = &u;
  std::map<uint32_t, std::pair<int, int>> socket_of; // file id -> (pair, end)
  for (const auto &u : im.unix_sockets) {
    if (socket_of.count(u.file_id))
      continue;
    int index = static_cast<int>(plan.socket_pairs.size());
    plan.socket_pairs.push_back({u.type, {&u, sockets.at(u.peer_file_id)}, {-1, -1}, kNoFile});
    socket_of[u.file_id] = {index, 0};
    socket_of[u.peer_file_id] = {index, 1};
  }
  auto record = [](const auto &table, uint32_t id) {
    for (const auto &r : table)
      if (r.file_id == id)
        return &r;
    return static_cast<decltype(&table[0])>(nullptr);
  };

  std::map<uint32_t, size_t> file_index;
  for (const auto &f : im.files) {
    const size_t index = plan.files.size();
    file_index[f.id] = index;
    FilePlan fp{f.kind, f.path, f.flags, f.pos, -1, f.pipe_write_end, {}};
    if (f.shared_slot >= 0) {
      fp.slot = f.shared_slot;
      plan.files.push_back(std::move(fp));
      continue;
    }
    switch (f.kind) {
    case FileKind::pipe:
    case FileKind::fifo: {
      fp.pipe_index = pipe_index.at(f.pipe_id);
      PipePlan &p = plan.pipes[static_cast<size_t>(fp.pipe_index)];
      if (p.first_file == kNoFile) {
        p.first_file = index;
        if (f.kind == FileKind::fifo) {
          p.fifo_path = f.path;
          LMIG_ASSIGN_OR_RETURN(p.inject, fifo_needs_data(f.path, *p.data));
        }
      }
      break;
    }
    case FileKind::deleted:
    case FileKind::memfd: {
      fp.contents_index = contents_index.at(f.contents_id);
      ContentsPlan &c = plan.contents[static_cast<size_t>(fp.contents_index)];
      if (c.first_file == kNoFile) {
        c.first_file = index;
        if (f.kind == FileKind::deleted) {
          std::string dir = dir_of(f.path);
          c.memfd = !can_make_tmpfile(dir);
          if (c.memfd) // named after the file it was
            c.name = f.path.substr(f.path.rfind('/') + 1).substr(0, 200);
          else
            c.tmpfile_dir = dir;
        }
      }
      // An unlinked file cannot be linked again; a file made with O_TMPFILE
      // (no O_EXCL) and never linked ("#inode" is its name) can.
      if (f.kind == FileKind::deleted && (f.flags & (O_TMPFILE & ~O_DIRECTORY)) &&
          !(f.flags & O_EXCL) && f.path.substr(f.path.rfind('/') + 1).starts_with("#"))
        c.linkable = true;
      break;
    }
    case FileKind::unix_socket: {
      auto [pair, end] = socket_of.at(f.id);
      fp.socket_index = pair;
      fp.socket_end = end;
      if (end == 0)
        plan.socket_pairs[static_cast<size_t>(pair)].first_file = index;
      break;
    }
    case FileKind::eventfd: fp.eventfd = record(im.eventfds, f.id); break;
    case FileKind::signalfd: fp.signalfd = record(im.signalfds, f.id); break;
    case FileKind::timerfd: fp.timerfd = record(im.timerfds, f.id); break;
    case FileKind::epoll: fp.epoll = record(im.epolls, f.id); break;
    case FileKind::inotify: fp.inotify = record(im.inotifies, f.id); break;
    default: break;
    }
    plan.files.push_back(std::move(fp));
  }
  int max_fd = 2;
  for (const auto &fd : im.fds) {
    plan.files[file_index.at(fd.file_id)].targets.push_back({fd.fd, fd.cloexec});
    max_fd = std::max(max_fd, fd.fd);
  }
  plan.ctl_fd = max_fd + 1;
  return {};
}

} // namespace lmig
