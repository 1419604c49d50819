// Every one-facet workload (tests/workloads/facets) moves in both modes:
// it checks its facet on the source, is migrated, and checks it twice on the
// target. Facets lmig cannot move yet must be refused by name, leaving the
// process running.
#include <gtest/gtest.h>

#include <memory>
#include <sstream>

#include "tests/integration/harness.hpp"

namespace lmig::test {
namespace {

struct Facet {
  std::string path;
  bool refused;
  std::string name() const {
    std::string n = path.substr(path.rfind('/') + 1);
    return n.rfind("facet_", 0) == 0 ? n.substr(6) : n;
  }
};

std::vector<Facet> facets() {
  std::vector<Facet> out;
  std::stringstream ss(std::getenv("FACETS") ? std::getenv("FACETS") : "");
  std::string item;
  while (std::getline(ss, item, ':'))
    if (!item.empty())
      out.push_back(item[0] == '!' ? Facet{item.substr(1), true} : Facet{item, false});
  return out;
}

// A facet that cannot look at its own state (seccomp strict mode allows no
// open) lists lines that /proc/PID/status must hold in its expect_status.
std::string status_mismatch(const Workload &w, pid_t pid) {
  std::stringstream want(read_file(w.dir().file("expect_status")));
  std::string have = read_file("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(want, line))
    if (!line.empty() && have.find("\n" + line + "\n") == std::string::npos)
      return "/proc/" + std::to_string(pid) + "/status lacks '" + line + "'";
  return "";
}

using Param = std::tuple<Facet, std::string>;

class Facets : public ::testing::TestWithParam<Param> {};

TEST_P(Facets, MovesIntact) {
  const auto &[facet, mode] = GetParam();
  Lmigd d;
  Workload w(Workload::Program{facet.path});
  pid_t src = w.pid();
  std::string v = w.check(src, 1);
  ASSERT_EQ(v.substr(0, 4), "PASS") << "the facet must hold before moving: " << v;
  ASSERT_EQ(status_mismatch(w, src), "");
  // --check must say what the migration will do.
  CmdResult check = run({bin("LMIG"), "--check", std::to_string(src)});
  EXPECT_EQ(check.exit_code, facet.refused ? 1 : 0) << check.err;
  CmdResult r = run({bin("LMIG"), mode, std::to_string(src), d.address(), "--json"});
  if (facet.refused) {
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("not supported yet"), std::string::npos) << r.err;
    v = w.check(src, 2);
    EXPECT_EQ(v.substr(0, 4), "PASS") << "a refused process keeps running untouched: " << v;
    return;
  }
  ASSERT_EQ(r.exit_code, 0) << r.err << d.log();
  auto json = parse_json_object(r.out);
  pid_t target = std::stoi(json["target_pid"]);
  ProcessGuard guard(target);
  w.reap_source();
  EXPECT_FALSE(alive(src));
  v = w.check(target, 2);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
  EXPECT_EQ(status_mismatch(w, target), "");
  v = w.check(target, 3);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

// Capture reads every facet (peeking at queues, reading timers and file
// contents); when the target then fails, the source must go on exactly as
// before. Here the target lacks the files the process has open (its
// directory is hidden under an empty tmpfs in lmigd's own mount namespace).
class FacetsOnFailure : public ::testing::TestWithParam<Facet> {};

TEST_P(FacetsOnFailure, SourceKeepsItWhenTheTargetFails) {
  const Facet &facet = GetParam();
  if (facet.refused)
    GTEST_SKIP() << "refused before capture";
  Workload w(Workload::Program{facet.path});
  Lmigd d({}, {"unshare", "-m", "--propagation", "private", "sh", "-c",
               "mount -t tmpfs none \"$0\" && exec \"$@\"", w.dir().path()});
  pid_t src = w.pid();
  std::string v = w.check(src, 1);
  ASSERT_EQ(v.substr(0, 4), "PASS") << "the facet must hold before moving: " << v;
  CmdResult r = run({bin("LMIG"), "--stop-copy", std::to_string(src), d.address()});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("target: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cannot be used"), std::string::npos) << r.err;
  v = w.check(src, 2);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
  v = w.check(src, 3);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

INSTANTIATE_TEST_SUITE_P(All, FacetsOnFailure, ::testing::ValuesIn(facets()),
                         [](const ::testing::TestParamInfo<Facet> &info) {
                           return info.param.name();
                         });

INSTANTIATE_TEST_SUITE_P(
    All, Facets,
    ::testing::Combine(::testing::ValuesIn(facets()),
                       ::testing::Values(std::string("--stop-copy"), std::string("--postcopy"))),
    [](const ::testing::TestParamInfo<Param> &info) {
      return std::get<0>(info.param).name() + "_" +
             (std::get<1>(info.param) == "--postcopy" ? "postcopy" : "stopcopy");
    });

} // namespace
} // namespace lmig::test
