#include "engine/capture/tree_sharing.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "engine/capture/fd_kinds.hpp"
#include "engine/capture/proc_maps.hpp"

namespace lmig {

namespace {

// One fd of a member, as the sharing analysis sees it.
struct OpenFd : ProcFd {
  size_t member;
  size_t description = 0; // index of its open file description
};

bool anon_inode(const OpenFd &f) { return f.link.starts_with("anon_inode:"); }

// Objects that several open files can reach: what they hold is one.
bool one_object_per_inode(const OpenFd &f) {
  return !anon_inode(f) && (S_ISFIFO(f.st.st_mode) || S_ISSOCK(f.st.st_mode) ||
                            f.link.ends_with(" (deleted)") || f.link.starts_with("/memfd:"));
}

// An epoll instance watches fds of the process that added them: the root
// cannot make one for another member.
std::string shared_kind_refused(const std::string &link) {
  return link == "anon_inode:[eventpoll]" ? "epoll instance" : "";
}

} // namespace

Result<TreeSharing> find_tree_sharing(const ScannedTree &t) {
  TreeSharing out;
  out.slot_of.resize(t.tree.members.size());
  if (t.tree.live() < 2)
    return out;
  using Inode = std::pair<uint64_t, uint64_t>; // (st_dev, st_ino)
  std::vector<OpenFd> fds;
  // Shared memory (shmem inodes mapped MAP_SHARED): who maps each, and one
  // mapping of it to read it through.
  std::map<Inode, std::set<size_t>> mappers;
  std::map<Inode, SharedMapping> a_mapping;
  for (size_t i = 0; i < t.host_pids.size(); i++) {
    if (t.tree.members[i].zombie)
      continue;
    const pid_t pid = t.host_pids[i];
    LMIG_ASSIGN_OR_RETURN(auto numbers, list_fds(pid));
    for (int fd : numbers) {
      LMIG_ASSIGN_OR_RETURN(auto proc_fd, read_proc_fd(pid, fd));
      if (proc_fd) // else closed meanwhile; capture reads the table again
        fds.push_back(OpenFd{std::move(*proc_fd), i});
    }
    LMIG_ASSIGN_OR_RETURN(auto maps, read_maps(pid));
    for (const auto &m : maps) {
      if (!m.shmem())
        continue;
      const Inode inode{makedev(m.dev_major, m.dev_minor), m.inode};
      mappers[inode].insert(i);
      a_mapping.try_emplace(inode, SharedMapping{pid, m.start, m.end, -1,
                                                 !m.path.starts_with("/memfd:"), inode.first,
                                                 inode.second});
    }
  }
  // Open file descriptions: fds of one inode that kcmp says are one file.
  std::vector<size_t> first_of; // description -> its first fd
  for (size_t k = 0; k < fds.size(); k++) {
    OpenFd &f = fds[k];
    f.description = first_of.size();
    for (size_t d = 0; d < first_of.size(); d++) {
      const OpenFd &o = fds[first_of[d]];
      if (o.st.st_dev == f.st.st_dev && o.st.st_ino == f.st.st_ino &&
          same_open_file(o.pid, o.fd, f.pid, f.fd)) {
        f.description = d;
        break;
      }
    }
    if (f.description == first_of.size())
      first_of.push_back(k);
  }
  // What each description reaches: the members holding it, and the object
  // (pipe, socket pair, FIFO or in-memory inode) it is one way into; the
  // members mapping an in-memory inode reach it too.
  std::vector<std::set<size_t>> holders(first_of.size());
  std::map<Inode, std::set<size_t>> object_members = mappers;
  std::vector<std::optional<Inode>> object_of(first_of.size());
  for (const auto &f : fds)
    holders[f.description].insert(f.member);
  for (size_t d = 0; d < first_of.size(); d++) {
    const OpenFd &f = fds[first_of[d]];
    if (!one_object_per_inode(f))
      continue;
    Inode object{f.st.st_dev, f.st.st_ino};
    if (S_ISSOCK(f.st.st_mode)) {
      // A socket pair is one object: name it by its lower inode.
      auto facts = describe_unix_socket(f.pid, f.fd, f.st.st_ino, f.fdinfo);
      if (facts.ok() && facts->peer_ino)
        object.second = std::min<uint64_t>(object.second, facts->peer_ino);
    }
    object_of[d] = object;
    object_members[object].insert(holders[d].begin(), holders[d].end());
  }
  auto new_slot = [&]() -> Result<int32_t> {
    const size_t n = out.slots.size() + out.mappings.size();
    if (n >= static_cast<size_t>(kMaxSharedSlots))
      return make_error(LMIG_ERR_UNSUPPORTED, "the processes of the tree share more than " +
                                                  std::to_string(kMaxSharedSlots) + " files");
    return static_cast<int32_t>(n);
  };
  std::vector<int32_t> slot(first_of.size(), -1);
  for (size_t d = 0; d < first_of.size(); d++) {
    const bool spans = holders[d].size() > 1 ||
                       (object_of[d] && object_members[*object_of[d]].size() > 1);
    if (!spans)
      continue;
    const OpenFd &f = fds[first_of[d]];
    if (auto k = shared_kind_refused(f.link); !k.empty())
      return make_error(LMIG_ERR_UNSUPPORTED,
                        "PID " + std::to_string(t.tree.members[f.member].pid) + " fd " +
                            std::to_string(f.fd) + ": " + k +
                            " shared with another process of the tree is not supported yet");
    LMIG_ASSIGN_OR_RETURN(slot[d], new_slot());
    out.slots.push_back({t.host_pids[f.member], f.fd, slot[d]});
  }
  for (const auto &f : fds)
    if (slot[f.description] >= 0)
      out.slot_of[f.member][f.fd] = slot[f.description];
  // Shared memory two members reach: its inode is made once, by the root.
  for (const auto &[inode, members] : mappers) {
    if (object_members[inode].size() < 2)
      continue;
    SharedMapping m = a_mapping.at(inode);
    LMIG_ASSIGN_OR_RETURN(m.slot, new_slot());
    out.contents_slot[inode] = m.slot;
    out.mappings.push_back(m);
  }
  return out;
}

} // namespace lmig
