// What the integration tests store as hostile data, and the check that a tool's human output
// let none of it act on a terminal (issue 18: stored data comes from untrusted producers).
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace mesh::test_support {

// A clipboard write (OSC 52), a screen clear, a window title, a carriage-return overwrite, a
// right-to-left override and a C1 CSI.
inline const std::string kHostileText =
    "x\x1b]52;c;ZXZpbA==\x07\x1b[2J\x1b]0;owned\x07\rFAKE\xE2\x80\xAE" "gnp.exe\xC2\x9B" "31m";

// The same, as a JSON string body (what producers send).
inline const std::string kHostileJson =
    R"(x\u001b]52;c;ZXZpbA==\u0007\u001b[2J\u001b]0;owned\u0007\rFAKE\u202egnp.exe\u009b31m)";

// No ESC, BEL, CR, C1 control or bidi override in the output, and the hostile text is there,
// escaped (so the test cannot pass by printing nothing).
inline void ExpectTerminalSafe(const std::string& out, const std::string& what) {
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << what << ":\n" << out;
  EXPECT_EQ(out.find('\x07'), std::string::npos) << what << ":\n" << out;
  EXPECT_EQ(out.find('\r'), std::string::npos) << what << ":\n" << out;
  EXPECT_EQ(out.find("\xE2\x80\xAE"), std::string::npos) << what << ":\n" << out;
  EXPECT_EQ(out.find("\xC2\x9B"), std::string::npos) << what << ":\n" << out;
  EXPECT_NE(out.find("\\x1b]52;c;ZXZpbA=="), std::string::npos) << what << ":\n" << out;
}

}  // namespace mesh::test_support
