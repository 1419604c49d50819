// Process trees, in both modes: a child that shares every kind of open
// file with its parent moves with it; and when the restore of one member
// fails on the target after the tree was spawned there, every member is
// torn down on the target and the whole tree goes on untouched on the
// source.
#include <gtest/gtest.h>

#include <sstream>

#include "tests/integration/harness.hpp"

namespace lmig::test {
namespace {

// The live children of a process (state other than Z).
std::vector<pid_t> live_children(pid_t pid) {
  std::stringstream ss(read_file("/proc/" + std::to_string(pid) + "/task/" +
                                 std::to_string(pid) + "/children"));
  std::vector<pid_t> out;
  pid_t c;
  while (ss >> c) {
    std::string stat = read_file("/proc/" + std::to_string(c) + "/stat");
    if (stat.find(") Z ") == std::string::npos)
      out.push_back(c);
  }
  return out;
}

class TreeMoves : public ::testing::TestWithParam<std::string> {};

// wl_state --child: a child forked once every kind of file wl_state holds
// is open (a pipe with buffered bytes, files sharing an offset, O_APPEND,
// /dev/null, a shared file mapping ...) shares all of them with its parent,
// and the parent talks to it over a socket pair. Both move; the parent's
// checks (its own state, the child's memory and parent link) pass on the
// target, and the source tree is gone.
TEST_P(TreeMoves, AChildSharingEveryOpenFile) {
  Lmigd d;
  Workload w({"--child"}, 8);
  const pid_t src = w.pid();
  ASSERT_EQ(w.check(src, 1).substr(0, 4), "PASS");
  const auto kids = live_children(src);
  ASSERT_EQ(kids.size(), 1u);
  CmdResult r = run({bin("LMIG"), GetParam(), std::to_string(src), d.address(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << d.log();
  auto json = parse_json_object(r.out);
  const pid_t target = std::stoi(json["target_pid"]);
  ProcessGuard guard(target);
  w.reap_source();
  EXPECT_FALSE(alive(src));
  EXPECT_FALSE(alive(kids[0]));
  EXPECT_EQ(live_children(target).size(), 1u);
  std::string v = w.check(target, 2);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
  v = w.check(target, 3);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

INSTANTIATE_TEST_SUITE_P(Modes, TreeMoves,
                         ::testing::Values(std::string("--stop-copy"), std::string("--postcopy")),
                         [](const ::testing::TestParamInfo<std::string> &info) {
                           return info.param == "--postcopy" ? "postcopy" : "stopcopy";
                         });

class TreeFailure : public ::testing::TestWithParam<std::string> {};

TEST_P(TreeFailure, AChildFailingOnTheTargetLeavesTheSourceTreeRunning) {
  // facet_child_process: a live child and a zombie.
  Workload w(Workload::Program{facet_program("child_process")});
  const pid_t src = w.pid();
  ASSERT_EQ(w.check(src, 1).substr(0, 4), "PASS");
  auto kids = live_children(src);
  ASSERT_EQ(kids.size(), 1u);
  const pid_t child = kids[0];
  Lmigd d({}, {"env", "LMIG_TEST_FAIL_RESTORE_OF=" + std::to_string(child)});
  CmdResult r = run({bin("LMIG"), GetParam(), std::to_string(src), d.address()});
  ASSERT_EQ(r.exit_code, 1) << r.err << d.log();
  EXPECT_NE(r.err.find("restore failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(std::to_string(child)), std::string::npos) << r.err;
  // The source tree runs on: the parent checks its child and its zombie.
  EXPECT_TRUE(alive(src));
  EXPECT_EQ(live_children(src), kids);
  std::string v = w.check(src, 2);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
  // Nothing is left on the target: lmigd holds no restore namespace.
  EXPECT_EQ(live_children(d.pid()), std::vector<pid_t>{}) << d.log();
}

INSTANTIATE_TEST_SUITE_P(Modes, TreeFailure,
                         ::testing::Values(std::string("--stop-copy"), std::string("--postcopy")),
                         [](const ::testing::TestParamInfo<std::string> &info) {
                           return info.param == "--postcopy" ? "postcopy" : "stopcopy";
                         });

} // namespace
} // namespace lmig::test
