// The process tree message: round trips, the rules a tree must keep to be
// rebuilt by forking, and hostile bytes.
#include "engine/image/process_tree.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <vector>

namespace lmig {
namespace {

TreeMember member(int32_t pid, int32_t ppid, int32_t pgid, int32_t sid, uint64_t session) {
  TreeMember m;
  m.pid = pid;
  m.ppid = ppid;
  m.pgid = pgid;
  m.sid = sid;
  m.exit_signal = SIGCHLD;
  m.session = session;
  return m;
}

// A shell-like tree: root 100 leads the session; 101 leads a group that
// 102 (forked after it) joins; 103 is a zombie killed by SIGTERM; 104 has
// a session of its own, and its child 105 stays in it.
ProcessTree sample() {
  ProcessTree t;
  t.members.push_back(member(100, 0, 100, 100, 0));
  t.members.push_back(member(101, 100, 101, 100, 11));
  t.members.push_back(member(102, 100, 101, 100, 12));
  TreeMember z = member(103, 100, 100, 100, 0);
  z.zombie = true;
  z.wait_status = SIGTERM;
  z.comm = "worker";
  t.members.push_back(z);
  t.members.push_back(member(104, 100, 104, 104, 14));
  t.members.push_back(member(105, 104, 104, 104, 15));
  return t;
}

TEST(ProcessTree, RoundTrips) {
  ProcessTree t = sample();
  ASSERT_TRUE(validate_tree(t).ok()) << validate_tree(t).error().message;
  auto d = decode_tree(encode_tree(t));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(*d, t);
  EXPECT_EQ(d->live(), 5u);
  EXPECT_EQ(d->index_of(104), 4);
  EXPECT_EQ(d->index_of(999), -1);
}

void expect_refused(const ProcessTree &t, const std::string &words) {
  auto st = validate_tree(t);
  ASSERT_FALSE(st.ok()) << "expected a refusal mentioning '" << words << "'";
  EXPECT_NE(st.error().message.find(words), std::string::npos) << st.error().message;
  EXPECT_FALSE(decode_tree(encode_tree(t)).ok());
}

TEST(ProcessTree, RefusesWhatForkCannotRebuild) {
  ProcessTree t = sample();
  t.members[0].sid = 7; // the root must lead its session
  expect_refused(t, "root must lead");

  t = sample();
  std::swap(t.members[4], t.members[5]); // a child before its parent
  expect_refused(t, "parent 104");

  t = sample();
  t.members[5].ppid = 103; // a zombie has no children
  expect_refused(t, "parent 103");

  t = sample();
  t.members[2].pid = 101; // twice
  expect_refused(t, "appears twice");

  t = sample();
  std::swap(t.members[1], t.members[2]); // joins a group led by a later sibling
  expect_refused(t, "process group 101");

  t = sample();
  t.members[5].sid = 100; // neither its own session nor its parent's
  expect_refused(t, "session 100");

  t = sample();
  t.members[4].pgid = 100; // leads a session but not its group
  expect_refused(t, "leads a session");

  t = sample();
  t.members[3].wait_status = 0x137f; // a stopped status is no end
  expect_refused(t, "wait status");

  t = sample();
  t.members[2].session = t.members[1].session; // page channels must not mix
  expect_refused(t, "session of its own");

  t = sample();
  t.members[1].exit_signal = 65;
  expect_refused(t, "exit signal");
}

TEST(ProcessTree, HostileBytesAreErrors) {
  auto bytes = encode_tree(sample());
  for (size_t cut = 0; cut < bytes.size(); cut += 3) {
    std::vector<uint8_t> part(bytes.begin(), bytes.begin() + static_cast<long>(cut));
    EXPECT_FALSE(decode_tree(part).ok()) << "cut at " << cut;
  }
  auto flipped = bytes;
  flipped[8] = 0xff; // member count far beyond the bytes
  flipped[9] = 0xff;
  EXPECT_FALSE(decode_tree(flipped).ok());
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(decode_tree(longer).ok());
}

} // namespace
} // namespace lmig
