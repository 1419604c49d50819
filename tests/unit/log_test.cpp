// The log: one event is one line, whatever text was formatted into it.
#include "engine/base/log.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lmig {
namespace {

TEST(Log, TextFromAPeerCannotForgeALine) {
  std::vector<std::string> lines;
  set_log_sink([&](LogLevel, const std::string &line) { lines.push_back(line); }, LogLevel::info);
  const char *host = "evil\nlmigd 00:00:00.000 info: migration of PID 1 complete\x1b[2J";
  LMIG_INFO("%s: hello from %s", "127.0.0.1:4242", host);
  set_log_sink(nullptr, LogLevel::info);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "127.0.0.1:4242: hello from evil\\nlmigd 00:00:00.000 info: migration of "
                      "PID 1 complete\\x1b[2J");
}

} // namespace
} // namespace lmig
