#include "engine/capture/tree_scan.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "engine/base/clock.hpp"
#include "engine/capture/freezer.hpp"
#include "engine/capture/proc_maps.hpp"
#include "engine/capture/proc_status.hpp"

namespace lmig {
namespace {

Error refuse(pid_t pid, const std::string &name, const std::string &why) {
  return make_error(LMIG_ERR_UNSUPPORTED,
                    "PID " + std::to_string(pid) + " (" + name + ") " + why);
}

uint64_t random_session() {
  uint64_t id = 0;
  while (id == 0)
    if (::getrandom(&id, sizeof id, 0) != sizeof id)
      id = now_ns() * 0x9e3779b97f4a7c15ull;
  return id;
}

struct Found {
  pid_t host_pid;
  ProcStatus status;
  ProcStat stat;
};

} // namespace

Result<std::vector<pid_t>> list_children(pid_t pid) {
  LMIG_ASSIGN_OR_RETURN(auto tids, list_threads(pid));
  std::vector<pid_t> out;
  const std::string proc = "/proc/" + std::to_string(pid) + "/task/";
  for (pid_t t : tids) {
    auto text = read_proc_file(proc + std::to_string(t) + "/children");
    if (!text.ok())
      continue; // the thread ended meanwhile
    const char *p = text->c_str();
    while (*p) {
      char *end = nullptr;
      long c = std::strtol(p, &end, 10);
      if (end == p)
        break;
      out.push_back(static_cast<pid_t>(c));
      p = end;
      while (*p == ' ' || *p == '\n')
        p++;
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<ScannedTree> scan_tree(pid_t root) {
  std::vector<Found> found;
  std::vector<int> parent_of; // index into found
  LMIG_ASSIGN_OR_RETURN(auto rs, read_status(root));
  LMIG_ASSIGN_OR_RETURN(auto rst, read_stat(root));
  if (rst.session != root || rst.pgrp != root)
    return refuse(root, rs.name,
                  "is in session " + std::to_string(rst.session) + " and process group " +
                      std::to_string(rst.pgrp) +
                      ", led by processes that do not move with it; a process outside a "
                      "session of its own is not supported yet (start it with setsid)");
  found.push_back({root, std::move(rs), std::move(rst)});
  parent_of.push_back(-1);
  // Breadth first over the live members; the order is fixed below.
  for (size_t i = 0; i < found.size(); i++) {
    if (found[i].status.state == 'Z')
      continue;
    LMIG_ASSIGN_OR_RETURN(auto kids, list_children(found[i].host_pid));
    for (pid_t c : kids) {
      auto st = read_status(c);
      auto sa = read_stat(c);
      if (!st.ok() || !sa.ok() || sa->state == 'X')
        continue; // gone meanwhile: a freeze-time rescan decides
      if (found.size() >= kMaxTreeMembers)
        return refuse(root, found[0].status.name,
                      "has more than " + std::to_string(kMaxTreeMembers) +
                          " processes under it; that is not supported");
      found.push_back({c, std::move(st).value(), std::move(sa).value()});
      parent_of.push_back(static_cast<int>(i));
    }
  }
  const size_t depth = found[0].status.nspid.size();
  std::map<pid_t, pid_t> inner; // our PID -> the tree's
  for (const auto &f : found) {
    if (f.status.nspid.size() != depth)
      return refuse(f.host_pid, f.status.name,
                    "runs in a PID namespace of its own under PID " + std::to_string(root) +
                        "; that is not supported");
    inner[f.host_pid] = f.status.nspid.empty() ? f.host_pid : f.status.nspid.back();
  }
  auto tree_pid = [&](const Found &f, pid_t host, const char *what) -> Result<int32_t> {
    auto it = inner.find(host);
    if (it == inner.end())
      return refuse(f.host_pid, f.status.name,
                    std::string("is in ") + what + " " + std::to_string(host) +
                        ", led by a process that does not move with it");
    return it->second;
  };
  // Pre-order: each parent, then its children; among siblings, group
  // leaders before the members of their groups.
  std::vector<size_t> order;
  std::vector<size_t> stack{0};
  while (!stack.empty()) {
    size_t i = stack.back();
    stack.pop_back();
    order.push_back(i);
    std::vector<size_t> kids;
    for (size_t k = 0; k < found.size(); k++)
      if (parent_of[k] == static_cast<int>(i))
        kids.push_back(k);
    std::stable_sort(kids.begin(), kids.end(), [&](size_t a, size_t b) {
      bool la = found[a].stat.pgrp == found[a].host_pid;
      bool lb = found[b].stat.pgrp == found[b].host_pid;
      return la > lb;
    });
    for (auto it = kids.rbegin(); it != kids.rend(); ++it)
      stack.push_back(*it);
  }
  ScannedTree out;
  for (size_t i : order) {
    const Found &f = found[i];
    TreeMember m;
    m.pid = inner[f.host_pid];
    m.ppid = parent_of[i] < 0 ? 0 : inner[found[static_cast<size_t>(parent_of[i])].host_pid];
    LMIG_ASSIGN_OR_RETURN(m.pgid, tree_pid(f, f.stat.pgrp, "process group"));
    LMIG_ASSIGN_OR_RETURN(m.sid, tree_pid(f, f.stat.session, "session"));
    m.exit_signal = f.stat.exit_signal;
    m.zombie = f.stat.state == 'Z';
    if (m.zombie) {
      m.wait_status = f.stat.exit_code;
      m.comm = f.stat.comm.substr(0, 15);
    } else if (i != 0) {
      m.session = random_session();
    }
    out.tree.members.push_back(std::move(m));
    out.host_pids.push_back(f.host_pid);
  }
  if (auto st = validate_tree(out.tree); !st.ok())
    return make_error(LMIG_ERR_UNSUPPORTED, "the processes under PID " + std::to_string(root) +
                                                " cannot be rebuilt: " + st.error().message);
  return out;
}

Status check_session_moves_whole(const ScannedTree &t) {
  const pid_t root = t.host_pids.front();
  std::set<pid_t> members(t.host_pids.begin(), t.host_pids.end());
  DIR *d = ::opendir("/proc");
  if (!d)
    return sys_error("open /proc");
  Status st;
  while (dirent *e = ::readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9')
      continue;
    const pid_t pid = static_cast<pid_t>(std::atol(e->d_name));
    if (members.count(pid))
      continue;
    auto s = read_stat(pid);
    if (!s.ok() || s->session != root)
      continue; // gone meanwhile, or in another session
    st = make_error(LMIG_ERR_UNSUPPORTED,
                    "PID " + std::to_string(pid) + " (" + s->comm + ") is in the session of PID " +
                        std::to_string(root) + " but not under it (its parent died); it would "
                        "be left behind, so moving that session is not supported yet");
    break;
  }
  ::closedir(d);
  return st;
}

bool same_tree(const ProcessTree &a, const ProcessTree &b) {
  if (a.members.size() != b.members.size())
    return false;
  for (size_t i = 0; i < a.members.size(); i++) {
    const auto &x = a.members[i], &y = b.members[i];
    if (x.pid != y.pid || x.ppid != y.ppid || x.pgid != y.pgid || x.sid != y.sid ||
        x.zombie != y.zombie || x.wait_status != y.wait_status || x.exit_signal != y.exit_signal)
      return false;
  }
  return true;
}

} // namespace lmig
