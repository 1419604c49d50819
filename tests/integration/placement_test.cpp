// cgroup placement: with --cgroup-root, a restored process joins its
// source's cgroup path under that root in every hierarchy this host mounts
// (made with --cgroup-create, else refused and the source resumes);
// without it, it stays in lmigd's cgroups. The roots are directories of the
// test's own, removed at the end.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <sstream>

#include "engine/capture/proc_maps.hpp"
#include "engine/restore/cgroup_placement.hpp"
#include "tests/integration/harness.hpp"

namespace lmig::test {
namespace {

// /proc/PID/cgroup as controllers -> path.
std::map<std::string, std::string> cgroups_of(pid_t pid) {
  std::map<std::string, std::string> out;
  std::istringstream lines(read_file("/proc/" + std::to_string(pid) + "/cgroup"));
  for (std::string l; std::getline(lines, l);) {
    size_t a = l.find(':'), b = l.find(':', a + 1);
    out[l.substr(a + 1, b - a - 1)] = l.substr(b + 1);
  }
  return out;
}

// A root of the test's own in every hierarchy: removed (deepest first)
// when the test ends, once the processes in it are gone.
class Root {
public:
  Root() : name_("/lmig-test-" + std::to_string(::getpid())) {}
  ~Root() {
    for (const auto &m : cgroup_mounts(read_file("/proc/self/mountinfo"))) {
      std::error_code ec;
      std::vector<std::string> dirs;
      const std::string top = m.mount + name_;
      if (!std::filesystem::exists(top, ec))
        continue;
      for (auto it = std::filesystem::recursive_directory_iterator(top, ec);
           it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        if (it->is_directory(ec))
          dirs.push_back(it->path());
      dirs.push_back(top);
      std::sort(dirs.begin(), dirs.end(),
                [](const std::string &a, const std::string &b) { return a.size() > b.size(); });
      for (const auto &d : dirs)
        for (int i = 0; i < 100 && ::rmdir(d.c_str()) < 0 && errno == EBUSY; i++)
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  const std::string &name() const { return name_; }

private:
  std::string name_;
};

TEST(Placement, TheProcessJoinsItsSourcesCgroupsUnderTheRoot) {
  Root root;
  Lmigd d({"--cgroup-root", root.name(), "--cgroup-create"});
  Workload w({}, 8);
  const auto before = cgroups_of(w.pid());
  CmdResult r = run({bin("LMIG"), "--postcopy", std::to_string(w.pid()), d.address(), "--json"},
                    std::chrono::seconds(60));
  Moved m(r, w);
  ASSERT_GT(m.pid(), 0) << r.err << d.log();
  const auto after = cgroups_of(m.pid());
  const auto mounts = cgroup_mounts(read_file("/proc/self/mountinfo"));
  size_t placed = 0;
  for (const auto &[controllers, path] : before) {
    bool mounted = false;
    for (const auto &m : mounts)
      mounted |= m.controllers == controllers;
    if (!mounted)
      continue;
    EXPECT_EQ(after.at(controllers), root.name() + (path == "/" ? "" : path))
        << "hierarchy '" << controllers << "'";
    placed++;
  }
  EXPECT_GT(placed, 0u);
  std::string v = m.check(1);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

TEST(Placement, AMissingCgroupIsMadeOnlyWhenAskedElseTheSourceResumes) {
  Root root;
  Lmigd d({"--cgroup-root", root.name()});
  Workload w({}, 8);
  CmdResult r = run({bin("LMIG"), "--stop-copy", std::to_string(w.pid()), d.address()},
                    std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not exist (give lmigd --cgroup-create)"), std::string::npos)
      << r.err;
  expect_untouched(w, 1);
}

TEST(Placement, WithoutARootTheProcessStaysInLmigdsCgroups) {
  Lmigd d;
  Workload w({}, 8);
  CmdResult r = run({bin("LMIG"), "--stop-copy", std::to_string(w.pid()), d.address(), "--json"},
                    std::chrono::seconds(60));
  Moved m(r, w);
  ASSERT_GT(m.pid(), 0) << r.err << d.log();
  EXPECT_EQ(cgroups_of(m.pid()), cgroups_of(d.pid()));
}

TEST(Placement, MountsAndPathsAreReadAsTheKernelWritesThem) {
  const std::string info =
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
      "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n"
      "42 31 0:39 /sub /mnt/elsewhere rw - cgroup cgroup rw,memory\n";
  auto mounts = cgroup_mounts(info);
  ASSERT_EQ(mounts.size(), 3u) << "a mount of a subtree is not a hierarchy's root";
  EXPECT_EQ(mounts[0].controllers, "cpu,cpuacct");
  EXPECT_EQ(mounts[1].controllers, "name=systemd");
  EXPECT_EQ(mounts[2].controllers, "");
  auto dirs = placement_dirs({{"cpuacct,cpu", "/a/b"}, {"", "/"}, {"name=systemd", "/s"}},
                             "/moved", mounts);
  ASSERT_TRUE(dirs.ok()) << dirs.error().message;
  EXPECT_EQ(*dirs, (std::vector<std::string>{"/sys/fs/cgroup/cpu,cpuacct/moved/a/b",
                                             "/sys/fs/cgroup/unified/moved",
                                             "/sys/fs/cgroup/systemd/moved/s"}));
  EXPECT_TRUE(placement_dirs({{"freezer", "/"}}, "/moved", mounts)->empty());
  auto missing = placement_dirs({{"freezer", "/x"}}, "/moved", mounts);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("'freezer', which this host does not mount"),
            std::string::npos);
}

} // namespace
} // namespace lmig::test
