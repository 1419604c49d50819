// printable(): peer text can neither forge a log line nor run on forever.
#include "engine/base/printable.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lmig {
namespace {

TEST(Printable, PlainTextIsKept) {
  EXPECT_EQ(printable("source-host.example"), "source-host.example");
  EXPECT_EQ(printable(""), "");
  EXPECT_EQ(printable("a b~!\"#$%&'()*+,-./:;<=>?@[]^_`{|}"), "a b~!\"#$%&'()*+,-./:;<=>?@[]^_`{|}");
}

TEST(Printable, LineBreaksAndTabsBecomeEscapes) {
  EXPECT_EQ(printable("host\nlmigd 12:00:00.000 info: forged"),
            "host\\nlmigd 12:00:00.000 info: forged");
  EXPECT_EQ(printable("a\rb\tc"), "a\\rb\\tc");
}

TEST(Printable, ControlsDelAndHighBytesBecomeHex) {
  EXPECT_EQ(printable(std::string("\x1b[31mred\x7f", 9)), "\\x1b[31mred\\x7f");
  EXPECT_EQ(printable(std::string("\0x", 2)), "\\x00x");
  EXPECT_EQ(printable("\xc3\xa9\x9b"), "\\xc3\\xa9\\x9b"); // UTF-8 and a C1 CSI alike
}

TEST(Printable, NothingLeftThatATerminalOrALogReaderWouldAct) {
  std::string every;
  for (int c = 0; c < 256; c++)
    every.push_back(static_cast<char>(c));
  std::string out = printable(every, 4096);
  for (char c : out)
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(static_cast<unsigned char>(c));
  EXPECT_EQ(out.find("...["), std::string::npos) << "nothing was cut";
}

TEST(Printable, LongTextIsCutAndSaysHowMuch) {
  EXPECT_EQ(printable(std::string(300, 'h'), 256), std::string(256, 'h') + "...[+44 bytes]");
  EXPECT_EQ(printable(std::string(10, 'h'), 10), std::string(10, 'h'));
  // An escape is never split: \x01 does not fit in the last three places.
  EXPECT_EQ(printable("abcdefg\x01z", 10), "abcdefg...[+2 bytes]");
  EXPECT_LE(printable(std::string(1 << 20, '\n')).size(), kPrintableMax + 32);
}

TEST(Printable, EscapingTwiceChangesNothing) {
  std::string once = printable("a\nb\\c\x01");
  EXPECT_EQ(once, "a\\nb\\c\\x01");
  EXPECT_EQ(printable(once), once);
}

} // namespace
} // namespace lmig
