#include "engine/restore/cgroup_placement.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include "engine/base/unique_fd.hpp"

namespace lmig {
namespace {

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, sep);)
    if (!part.empty())
      out.push_back(part);
  return out;
}

bool has(const std::vector<std::string> &v, const std::string &x) {
  for (const auto &e : v)
    if (e == x)
      return true;
  return false;
}

Result<std::string> read_small(const std::string &path) {
  UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!f)
    return sys_error("open " + path);
  char buf[4096];
  ssize_t n = ::read(f.get(), buf, sizeof buf);
  if (n < 0)
    return sys_error("read " + path);
  return std::string(buf, static_cast<size_t>(n));
}

Status write_small(const std::string &path, const std::string &text) {
  UniqueFd f(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!f || ::write(f.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return sys_error("write " + path);
  return {};
}

// v1's cpuset takes no task until its CPUs and memory nodes are set: a
// directory made here gets its parent's.
Status fill_cpuset(const std::string &dir) {
  struct stat st {};
  if (::stat((dir + "/cpuset.cpus").c_str(), &st) < 0)
    return {}; // not a v1 cpuset
  const std::string parent = dir.substr(0, dir.rfind('/'));
  for (const char *file : {"/cpuset.cpus", "/cpuset.mems"}) {
    LMIG_ASSIGN_OR_RETURN(std::string mine, read_small(dir + file));
    if (mine != "\n" && !mine.empty())
      continue;
    LMIG_ASSIGN_OR_RETURN(std::string theirs, read_small(parent + file));
    LMIG_TRY(write_small(dir + file, theirs));
  }
  return {};
}

Status make_dirs(const std::string &dir) {
  // Each missing level in turn (a cpuset level needs its parent's values
  // before it has children).
  for (size_t at = 1; at <= dir.size(); at++) {
    if (at != dir.size() && dir[at] != '/')
      continue;
    const std::string level = dir.substr(0, at);
    if (::mkdir(level.c_str(), 0755) == 0) {
      LMIG_TRY(fill_cpuset(level));
    } else if (errno != EEXIST) {
      return sys_error("make cgroup " + level);
    }
  }
  return {};
}

} // namespace

std::vector<CgroupMount> cgroup_mounts(const std::string &mountinfo) {
  // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
  std::vector<CgroupMount> out;
  std::stringstream lines(mountinfo);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> f = split(line, ' ');
    size_t dash = 0;
    while (dash < f.size() && f[dash] != "-")
      dash++;
    if (f.size() < 5 || dash + 3 >= f.size() || f[3] != "/")
      continue;
    const std::string &type = f[dash + 1];
    if (type == "cgroup2") {
      out.push_back({"", f[4]});
    } else if (type == "cgroup") {
      std::string controllers;
      for (const auto &opt : split(f[dash + 3], ',')) {
        static const char *const kNotControllers[] = {"rw", "ro", "xattr", "noprefix",
                                                      "clone_children", "cpuset_v2_mode"};
        bool skip = opt.find("release_agent=") == 0;
        for (const char *n : kNotControllers)
          skip |= opt == n;
        if (!skip)
          controllers += (controllers.empty() ? "" : ",") + opt;
      }
      out.push_back({controllers, f[4]});
    }
  }
  return out;
}

Result<std::vector<std::string>> placement_dirs(const std::vector<CgroupImage> &cgroups,
                                                const std::string &root,
                                                const std::vector<CgroupMount> &mounts) {
  std::vector<std::string> dirs;
  for (const auto &c : cgroups) {
    const std::vector<std::string> want = split(c.controllers, ',');
    const CgroupMount *found = nullptr;
    for (const auto &m : mounts) {
      const std::vector<std::string> have = split(m.controllers, ',');
      bool all = want.size() == have.size();
      for (const auto &w : want)
        all = all && has(have, w);
      if (all)
        found = &m;
    }
    if (!found) {
      if (c.path == "/")
        continue; // at the top of a hierarchy this host does not mount: nothing to keep
      return make_error(LMIG_ERR_INCOMPATIBLE,
                        "its cgroup " + c.path + " is in the hierarchy '" +
                            (c.controllers.empty() ? "unified (v2)" : c.controllers) +
                            "', which this host does not mount");
    }
    std::string dir = found->mount + root + (c.path == "/" ? "" : c.path);
    while (dir.size() > 1 && dir.back() == '/')
      dir.pop_back();
    dirs.push_back(dir);
  }
  return dirs;
}

Status join_cgroups(pid_t pid, const std::vector<std::string> &dirs, bool create) {
  const std::string id = std::to_string(pid);
  for (const auto &dir : dirs) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) < 0) {
      if (errno != ENOENT || !create)
        return make_error(LMIG_ERR_TARGET_FAILED,
                          "cgroup " + dir +
                              (errno == ENOENT ? " does not exist (give lmigd --cgroup-create)"
                                               : ": " + std::string(std::strerror(errno))),
                          errno);
      LMIG_TRY(make_dirs(dir));
    }
    if (auto st2 = write_small(dir + "/cgroup.procs", id); !st2.ok())
      return std::move(st2).error().context("join cgroup " + dir);
  }
  return {};
}

} // namespace lmig
