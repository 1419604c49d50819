#include "engine/image/process_tree.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <set>

#include "engine/image/byte_codec.hpp"

namespace lmig {
namespace {

constexpr uint32_t kTreeMagic = 0x65657274; // "tree"
constexpr uint32_t kTreeVersion = 1;

Error bad(const std::string &why) { return make_error(LMIG_ERR_IMAGE, "process tree: " + why); }

std::string who(const TreeMember &m) { return "PID " + std::to_string(m.pid); }

} // namespace

size_t ProcessTree::live() const {
  size_t n = 0;
  for (const auto &m : members)
    n += !m.zombie;
  return n;
}

int ProcessTree::index_of(int32_t pid) const {
  for (size_t i = 0; i < members.size(); i++)
    if (members[i].pid == pid)
      return static_cast<int>(i);
  return -1;
}

Status validate_tree(const ProcessTree &t) {
  if (t.members.empty())
    return bad("no members");
  if (t.members.size() > kMaxTreeMembers)
    return bad(std::to_string(t.members.size()) + " members; at most " +
               std::to_string(kMaxTreeMembers) + " are supported");
  const TreeMember &root = t.members[0];
  if (root.zombie || root.ppid != 0)
    return bad("the first member must be the live root");
  if (root.sid != root.pid || root.pgid != root.pid)
    return bad("the root must lead its session and process group");
  std::set<int32_t> seen;
  std::set<uint64_t> sessions;
  for (size_t i = 0; i < t.members.size(); i++) {
    const TreeMember &m = t.members[i];
    if (m.pid <= 0 || !seen.insert(m.pid).second)
      return bad(who(m) + " is not valid or appears twice");
    if (m.exit_signal < 0 || m.exit_signal > 64)
      return bad(who(m) + " has exit signal " + std::to_string(m.exit_signal));
    if (m.comm.size() > 15)
      return bad(who(m) + " has a name longer than 15 bytes");
    if (m.zombie) {
      const int s = m.wait_status;
      const bool exited = WIFEXITED(s) && (s & ~0xff00) == 0;
      const bool killed = WIFSIGNALED(s) && WTERMSIG(s) > 0 && WTERMSIG(s) < 65 &&
                          (s & ~0xff) == 0;
      if (!exited && !killed)
        return bad(who(m) + " is a zombie with wait status " + std::to_string(s));
    } else if (i > 0 && (m.session == 0 || !sessions.insert(m.session).second)) {
      return bad(who(m) + " has no session of its own for its pages");
    }
    if (i == 0)
      continue;
    const int p = t.index_of(m.ppid);
    if (p < 0 || static_cast<size_t>(p) >= i || t.members[static_cast<size_t>(p)].zombie)
      return bad(who(m) + ": its parent " + std::to_string(m.ppid) +
                 " is not a live member listed before it");
    const TreeMember &parent = t.members[static_cast<size_t>(p)];
    if (m.sid != m.pid && m.sid != parent.sid)
      return bad(who(m) + " is in session " + std::to_string(m.sid) +
                 ", neither its own nor its parent's");
    if (m.sid == m.pid && m.pgid != m.pid)
      return bad(who(m) + " leads a session but not its process group");
    if (m.pgid == m.pid || m.pgid == parent.pgid)
      continue;
    // Another group of the same session, led by a sibling forked before it.
    const int l = t.index_of(m.pgid);
    if (l < 0 || static_cast<size_t>(l) >= i || t.members[static_cast<size_t>(l)].ppid != m.ppid ||
        t.members[static_cast<size_t>(l)].pgid != m.pgid ||
        t.members[static_cast<size_t>(l)].sid != m.sid)
      return bad(who(m) + " is in process group " + std::to_string(m.pgid) +
                 ", which is not its own, its parent's, or led by a sibling before it");
  }
  return {};
}

std::vector<uint8_t> encode_tree(const ProcessTree &t) {
  ByteWriter w;
  w.u32(kTreeMagic);
  w.u32(kTreeVersion);
  w.u32(static_cast<uint32_t>(t.members.size()));
  for (const auto &m : t.members) {
    w.i32(m.pid);
    w.i32(m.ppid);
    w.i32(m.pgid);
    w.i32(m.sid);
    w.i32(m.exit_signal);
    w.u8(m.zombie);
    w.i32(m.wait_status);
    w.str(m.comm);
    w.u64(m.session);
  }
  return w.take();
}

Result<ProcessTree> decode_tree(std::span<const uint8_t> bytes) {
  ByteReader r(bytes);
  if (r.u32() != kTreeMagic || r.failed())
    return bad("bad magic");
  if (uint32_t v = r.u32(); v != kTreeVersion)
    return bad("version " + std::to_string(v) + " is not supported");
  ProcessTree t;
  uint32_t n = r.count(29, kMaxTreeMembers);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    TreeMember m;
    m.pid = r.i32();
    m.ppid = r.i32();
    m.pgid = r.i32();
    m.sid = r.i32();
    m.exit_signal = r.i32();
    m.zombie = r.boolean();
    m.wait_status = r.i32();
    m.comm = r.str(64);
    m.session = r.u64();
    t.members.push_back(std::move(m));
  }
  if (!r.failed() && r.remaining() != 0)
    r.fail("trailing bytes");
  if (r.failed())
    return bad(r.why());
  LMIG_TRY(validate_tree(t));
  return t;
}

} // namespace lmig
