// cgroup placement on the target: a restored process joins, in every
// hierarchy this host mounts (v1 controllers, v2's unified one), its
// source's path under a root the operator chose (lmigd --cgroup-root),
// made first when missing if asked. Without a root it stays in lmigd's
// cgroups. Limits are the operator's: lmig creates directories, never sets
// a controller's values (v1's cpuset excepted, which takes no task until
// its CPUs and memory nodes are copied from its parent).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"

namespace lmig {

// A hierarchy mounted here: the controllers /proc/PID/cgroup names it by
// ("" for v2) and where its root is mounted.
struct CgroupMount {
  std::string controllers;
  std::string mount;
};

// From a mountinfo text (/proc/self/mountinfo): every cgroup and cgroup2
// mount of a hierarchy's root.
std::vector<CgroupMount> cgroup_mounts(const std::string &mountinfo);

// The directories a process with `cgroups` joins under `root` (a path in
// each hierarchy, "/migrated"). A hierarchy not mounted here is refused
// when the process is below its root there, skipped otherwise.
Result<std::vector<std::string>> placement_dirs(const std::vector<CgroupImage> &cgroups,
                                                const std::string &root,
                                                const std::vector<CgroupMount> &mounts);

// Moves `pid` (a thread group) into each directory, making the missing
// ones when `create` (else their absence is an error naming them).
Status join_cgroups(pid_t pid, const std::vector<std::string> &dirs, bool create);

} // namespace lmig
