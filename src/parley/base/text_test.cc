#include "parley/base/text.h"

#include <string>

#include <gtest/gtest.h>

namespace parley {
namespace {

TEST(EscapeForTerminalTest, KeepsPrintableAsciiAndWellFormedUtf8) {
  EXPECT_EQ(escape_for_terminal("us-eucom <-> ru-genstaff: 3 logs"),
            "us-eucom <-> ru-genstaff: 3 logs");
  const std::string russian =
      "\xd0\x93\xd0\xb5\xd0\xbd\xd1\x88\xd1\x82\xd0\xb0\xd0\xb1";  // Генштаб
  EXPECT_EQ(escape_for_terminal(russian), russian);
  EXPECT_EQ(escape_for_terminal("\xf0\x9f\x9a\x80"), "\xf0\x9f\x9a\x80");  // U+1F680
}

TEST(EscapeForTerminalTest, EscapesControlCharactersAndTheBackslash) {
  EXPECT_EQ(escape_for_terminal("\x1b[2J\x1b]0;owned\x07"), "\\x1b[2J\\x1b]0;owned\\x07");
  EXPECT_EQ(escape_for_terminal("a\nb\rc\td\x7f"), "a\\x0ab\\x0dc\\x09d\\x7f");
  EXPECT_EQ(escape_for_terminal(std::string("a\0b", 3)), "a\\x00b");
  // A literal "\x1b" in the input cannot pass for an escaped ESC byte.
  EXPECT_EQ(escape_for_terminal("\\x1b"), "\\\\x1b");
}

TEST(EscapeForTerminalTest, EscapesEachByteThatIsNotWellFormedUtf8) {
  EXPECT_EQ(escape_for_terminal("a\xff"
                                "b"),
            "a\\xffb");
  EXPECT_EQ(escape_for_terminal("\xc3"), "\\xc3");                             // truncated
  EXPECT_EQ(escape_for_terminal("\xc3(x"), "\\xc3(x");                         // bad continuation
  EXPECT_EQ(escape_for_terminal("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(escape_for_terminal("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");           // overlong
  EXPECT_EQ(escape_for_terminal("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(escape_for_terminal("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
  EXPECT_EQ(escape_for_terminal("\x80"), "\\x80");  // a lone continuation
}

TEST(EscapeForTerminalTest, EscapesC1ControlsSeparatorsAndBidiOverrides) {
  EXPECT_EQ(escape_for_terminal("\xc2\x9b"
                                "31m"),
            "\\u009b31m");  // CSI as one character
  EXPECT_EQ(escape_for_terminal("a\xe2\x80\xae"
                                "cba"),
            "a\\u202ecba");  // RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(escape_for_terminal("\xe2\x81\xa6x\xe2\x81\xa9"), "\\u2066x\\u2069");
  EXPECT_EQ(escape_for_terminal("a\xe2\x80\xa8"
                                "b"),
            "a\\u2028b");
}

TEST(EscapeForTerminalTest, OutputIsAlwaysPrintableUtf8) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  const std::string out = escape_for_terminal(every_byte + every_byte);
  for (const char c : out) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_FALSE(u < 0x20 || u == 0x7f) << "raw control byte " << static_cast<int>(u);
  }
  EXPECT_EQ(escape_for_terminal(out), [&] {
    std::string doubled;
    for (const char c : out) doubled += c == '\\' ? std::string("\\\\") : std::string(1, c);
    return doubled;
  }());
}

}  // namespace
}  // namespace parley
