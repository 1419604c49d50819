// What the facets cannot show with source and target on one host: a FIFO
// is state outside the process, and there the target reopens the very FIFO
// the source holds. Here lmigd sees another FIFO at the same path (bind
// mounted over it in lmigd's own mount namespace), as another host would.
#include <gtest/gtest.h>

#include <sstream>

#include "tests/integration/harness.hpp"

namespace lmig::test {
namespace {

// lmigd whose view of `fifo` is a FIFO of its own; `prelude` runs first
// in that shell (with the new FIFO as $0.target).
std::vector<std::string> other_fifo(const std::string &fifo, const std::string &prelude = "") {
  return {"unshare", "-m", "--propagation", "private", "sh", "-c",
          "mkfifo \"$0.target\" && " + prelude +
              "mount --bind \"$0.target\" \"$0\" && exec \"$@\"",
          fifo};
}

class FifoElsewhere : public ::testing::TestWithParam<std::string> {};

TEST_P(FifoElsewhere, BufferedBytesFollowIntoTheTargetsFifo) {
  Workload w(Workload::Program{facet_program("fifo")});
  Lmigd d({}, other_fifo(w.dir().file("fifo")));
  pid_t src = w.pid();
  ASSERT_EQ(w.check(src, 1).substr(0, 4), "PASS");
  CmdResult r = run({bin("LMIG"), GetParam(), std::to_string(src), d.address(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << d.log();
  pid_t target = std::stoi(parse_json_object(r.out)["target_pid"]);
  ProcessGuard guard(target);
  w.reap_source();
  std::string v = w.check(target, 2);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
  v = w.check(target, 3);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

INSTANTIATE_TEST_SUITE_P(Modes, FifoElsewhere,
                         ::testing::Values(std::string("--stop-copy"), std::string("--postcopy")),
                         [](const auto &info) {
                           return info.param == "--postcopy" ? "postcopy" : "stopcopy";
                         });

TEST(FifoElsewhere, OtherBytesThereFailTheRestoreAndTheSourceGoesOn) {
  Workload w(Workload::Program{facet_program("fifo")});
  // The target's FIFO holds "junk", kept alive by the shell's fd 3 that
  // lmigd inherits.
  Lmigd d({}, other_fifo(w.dir().file("fifo"), "exec 3<>\"$0.target\" && printf junk >&3 && "));
  pid_t src = w.pid();
  ASSERT_EQ(w.check(src, 1).substr(0, 4), "PASS");
  CmdResult r = run({bin("LMIG"), "--stop-copy", std::to_string(src), d.address()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("holds 4 bytes of other data here"), std::string::npos) << r.err;
  std::string v = w.check(src, 2);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

} // namespace
} // namespace lmig::test
