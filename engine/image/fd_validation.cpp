#include "engine/image/fd_validation.hpp"

#include <sys/socket.h>
#include <time.h>

#include <map>
#include <set>

namespace lmig {

bool timerfd_clock_supported(int32_t clockid) {
  return clockid == CLOCK_REALTIME || clockid == CLOCK_MONOTONIC || clockid == CLOCK_BOOTTIME ||
         clockid == CLOCK_REALTIME_ALARM || clockid == CLOCK_BOOTTIME_ALARM;
}
namespace {

Error bad(const std::string &why) { return make_error(LMIG_ERR_IMAGE, "image: " + why); }

std::string file_str(uint32_t id) { return "file " + std::to_string(id); }

bool needs_path(FileKind k) {
  return k == FileKind::regular || k == FileKind::directory || k == FileKind::char_device ||
         k == FileKind::fifo || k == FileKind::deleted;
}

// Each file of `kind` has exactly one record in `table`, and every record
// names a file of that kind.
template <typename T>
Status one_record_each(const std::vector<T> &table, FileKind kind, const char *what,
                       const std::map<uint32_t, const FileImage *> &files) {
  std::set<uint32_t> seen;
  for (const auto &r : table) {
    auto it = files.find(r.file_id);
    if (it == files.end() || it->second->kind != kind)
      return bad(std::string(what) + " record names " + file_str(r.file_id) + ", which is not " +
                 (kind == FileKind::epoll || kind == FileKind::eventfd ? "an " : "a ") + what);
    if (!seen.insert(r.file_id).second)
      return bad(file_str(r.file_id) + " has two " + what + " records");
  }
  for (const auto &[id, f] : files)
    if (f->kind == kind && !seen.count(id))
      return bad(file_str(id) + " (" + what + ") has no " + what + " record");
  return {};
}

Status check_contents(const ContentsImage &c) {
  const std::string where = "contents " + std::to_string(c.id);
  if (c.shared_slot >= 0 && (!c.extents.empty() || c.anon))
    return bad(where + ": shared with the tree, yet carried here");
  if (c.size > (1ull << 50))
    return bad(where + ": size " + std::to_string(c.size) + " is implausible");
  if (c.mode & ~07777u)
    return bad(where + ": mode has bits beyond 07777");
  uint64_t end = 0, total = 0;
  for (const auto &e : c.extents) {
    if (e.data.empty() || e.offset < end || e.offset > c.size || e.data.size() > c.size - e.offset)
      return bad(where + ": extent at " + std::to_string(e.offset) +
                 " is empty, out of order or past the end");
    end = e.offset + e.data.size();
    total += e.data.size();
  }
  if (total > kMaxFileContents)
    return bad(where + ": " + std::to_string(total) + " bytes of data exceed the limit");
  return {};
}

Status check_timerfd(const TimerfdImage &t) {
  const std::string where = "timerfd of " + file_str(t.file_id);
  if (!timerfd_clock_supported(t.clockid))
    return bad(where + ": clock " + std::to_string(t.clockid) + " is not a timerfd clock");
  constexpr uint32_t kAbstime = 1, kCancelOnSet = 2;
  if (t.settime_flags & ~(kAbstime | kCancelOnSet))
    return bad(where + ": unknown settime flags");
  if ((t.settime_flags & kCancelOnSet) &&
      (!(t.settime_flags & kAbstime) ||
       (t.clockid != CLOCK_REALTIME && t.clockid != CLOCK_REALTIME_ALARM)))
    return bad(where + ": cancel-on-set needs an absolute real-time timer");
  constexpr uint64_t kMaxNs = 1ull << 62;
  if (t.value_ns > kMaxNs || t.interval_ns > kMaxNs || t.captured_ns > kMaxNs)
    return bad(where + ": time out of range");
  return {};
}

} // namespace

Status validate_fd_state(const ProcessImage &im) {
  std::set<uint64_t> pipe_ids;
  for (const auto &p : im.pipes)
    if (!pipe_ids.insert(p.id).second)
      return bad("pipe " + std::to_string(p.id) + " appears twice");
  std::map<uint64_t, const ContentsImage *> contents;
  for (const auto &c : im.contents) {
    if (!contents.emplace(c.id, &c).second)
      return bad("contents " + std::to_string(c.id) + " appear twice");
    LMIG_TRY(check_contents(c));
  }

  std::map<uint32_t, const FileImage *> files, own; // own: not shared with the tree
  std::map<uint64_t, FileKind> pipe_users, contents_users; // what kind of file uses each
  std::set<int32_t> slots;
  for (const auto &f : im.files) {
    if (!files.emplace(f.id, &f).second)
      return bad(file_str(f.id) + " appears twice");
    if (static_cast<uint8_t>(f.kind) > kLastFileKind)
      return bad(file_str(f.id) + " is of an unknown kind");
    if (f.shared_slot >= 0) {
      // Made by the tree's root: nothing here says more than its kind.
      if (!slots.insert(f.shared_slot).second)
        return bad("shared slot " + std::to_string(f.shared_slot) + " is named twice");
      if (f.kind == FileKind::epoll)
        return bad(file_str(f.id) + ": an epoll instance cannot be shared");
      continue;
    }
    own.emplace(f.id, &f);
    if (f.kind == FileKind::pipe || f.kind == FileKind::fifo) {
      if (!pipe_ids.count(f.pipe_id))
        return bad(file_str(f.id) + " names an unknown pipe");
      // A buffer belongs to an anonymous pipe or to a FIFO, not both.
      auto [it, fresh] = pipe_users.emplace(f.pipe_id, f.kind);
      if (!fresh && it->second != f.kind)
        return bad("pipe " + std::to_string(f.pipe_id) + " is both anonymous and a FIFO");
    }
    if (f.kind == FileKind::deleted || f.kind == FileKind::memfd) {
      if (!contents.count(f.contents_id))
        return bad(file_str(f.id) + " names unknown contents");
      auto [it, fresh] = contents_users.emplace(f.contents_id, f.kind);
      if (!fresh && it->second != f.kind)
        return bad("contents " + std::to_string(f.contents_id) +
                   " belong to both a memfd and a deleted file");
    }
    if (needs_path(f.kind) && (f.path.empty() || f.path[0] != '/'))
      return bad(file_str(f.id) + " has no absolute path");
  }

  std::set<int32_t> fds;
  for (const auto &f : im.fds) {
    if (f.fd < 0 || f.fd >= (1 << 20))
      return bad("fd " + std::to_string(f.fd) + " out of range");
    if (!fds.insert(f.fd).second)
      return bad("fd " + std::to_string(f.fd) + " appears twice");
    if (!files.count(f.file_id))
      return bad("fd " + std::to_string(f.fd) + " names an unknown file");
  }

  LMIG_TRY(one_record_each(im.eventfds, FileKind::eventfd, "eventfd", own));
  LMIG_TRY(one_record_each(im.epolls, FileKind::epoll, "epoll", own));
  LMIG_TRY(one_record_each(im.signalfds, FileKind::signalfd, "signalfd", own));
  LMIG_TRY(one_record_each(im.timerfds, FileKind::timerfd, "timerfd", own));
  LMIG_TRY(one_record_each(im.inotifies, FileKind::inotify, "inotify", own));
  LMIG_TRY(one_record_each(im.unix_sockets, FileKind::unix_socket, "unix socket", own));

  for (const auto &e : im.eventfds)
    if (e.count == ~0ull)
      return bad("eventfd of " + file_str(e.file_id) + ": count out of range");
  for (const auto &e : im.epolls) {
    std::set<int32_t> watched;
    for (const auto &w : e.watches) {
      if (!fds.count(w.fd))
        return bad("epoll of " + file_str(e.file_id) + " watches fd " + std::to_string(w.fd) +
                   ", which the image does not have");
      if (!watched.insert(w.fd).second)
        return bad("epoll of " + file_str(e.file_id) + " watches fd " + std::to_string(w.fd) +
                   " twice");
    }
  }
  for (const auto &t : im.timerfds)
    LMIG_TRY(check_timerfd(t));
  for (const auto &n : im.inotifies) {
    int32_t last = 0;
    for (const auto &w : n.watches) {
      if (w.wd <= last || w.wd > kMaxInotifyWd)
        return bad("inotify of " + file_str(n.file_id) + ": watch " + std::to_string(w.wd) +
                   " is out of range or out of order");
      if (w.path.empty() || w.path[0] != '/')
        return bad("inotify of " + file_str(n.file_id) + ": watch " + std::to_string(w.wd) +
                   " has no absolute path");
      last = w.wd;
    }
  }
  std::map<uint32_t, const UnixSocketImage *> socks;
  for (const auto &u : im.unix_sockets)
    socks[u.file_id] = &u;
  for (const auto &u : im.unix_sockets) {
    const std::string where = "unix socket of " + file_str(u.file_id);
    if (u.type != SOCK_STREAM && u.type != SOCK_DGRAM && u.type != SOCK_SEQPACKET)
      return bad(where + ": type " + std::to_string(u.type) + " is not supported");
    auto peer = socks.find(u.peer_file_id);
    if (u.peer_file_id == u.file_id || peer == socks.end() ||
        peer->second->peer_file_id != u.file_id || peer->second->type != u.type)
      return bad(where + ": its peer is not a matching unix socket");
    if (u.shutdown > 3 || u.peek_off < -1)
      return bad(where + ": shutdown or peek offset out of range");
    uint64_t total = 0;
    for (const auto &m : u.queue) {
      if (u.type == SOCK_STREAM && m.empty())
        return bad(where + ": empty piece of a stream");
      total += m.size();
    }
    if (total > kMaxSocketQueue)
      return bad(where + ": " + std::to_string(total) + " queued bytes exceed the limit");
  }
  return {};
}

} // namespace lmig
