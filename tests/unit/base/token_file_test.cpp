#include "mesh/base/token_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "test_support.h"

namespace mesh {
namespace base_token_file_test {

using ::testing::HasSubstr;

class TokenFileTest : public ::testing::Test {
 protected:
  // Writes `content` to a new file in the temp dir with the given mode; returns its path.
  std::string Write(const std::string& content, mode_t mode = 0600) {
    const std::string path = dir_.File("token" + std::to_string(files_++));
    testing::WriteFile(path, content);
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }

  testing::TempDir dir_;
  int files_ = 0;
};

TEST_F(TokenFileTest, ReadsTheTokenWithSurroundingWhitespaceTrimmed) {
  Result<std::string> token = ReadTokenFile(Write("  \t s3cr3t-token.value \r\n\n"));
  ASSERT_TRUE(token.ok()) << token.status().message();
  EXPECT_EQ(*token, "s3cr3t-token.value");
}

TEST_F(TokenFileTest, KeepsInnerSpaces) {
  Result<std::string> token = ReadTokenFile(Write("a b\tc\n"));
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "a b\tc");
}

TEST_F(TokenFileTest, Mode0600IsAccepted) { EXPECT_TRUE(ReadTokenFile(Write("t", 0600)).ok()); }

TEST_F(TokenFileTest, OwnerOnlyModesAreAccepted) {
  EXPECT_TRUE(ReadTokenFile(Write("t", 0400)).ok());
  EXPECT_TRUE(ReadTokenFile(Write("t", 0700)).ok());
}

TEST_F(TokenFileTest, Mode0644IsRefusedWithAFix) {
  const std::string path = Write("t", 0644);
  Result<std::string> token = ReadTokenFile(path);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(token.status().message(), HasSubstr("readable by group or others"));
  EXPECT_THAT(token.status().message(), HasSubstr("chmod 600 " + path));
}

TEST_F(TokenFileTest, AnyGroupOrOtherBitIsRefused) {
  for (mode_t mode : {0640, 0604, 0620, 0602, 0610, 0601}) {
    Result<std::string> token = ReadTokenFile(Write("t", mode));
    EXPECT_FALSE(token.ok()) << std::oct << mode;
    EXPECT_EQ(token.status().code(), Status::Code::kInvalidArgument) << std::oct << mode;
  }
}

TEST_F(TokenFileTest, EmptyFileIsRefused) {
  for (const char* content : {"", " \n\t\r\n"}) {
    Result<std::string> token = ReadTokenFile(Write(content));
    ASSERT_FALSE(token.ok());
    EXPECT_EQ(token.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(token.status().message(), HasSubstr("is empty"));
  }
}

// The token becomes an Authorization header value: a line break in it would split the header.
TEST_F(TokenFileTest, ControlCharactersInsideTheTokenAreRefused) {
  for (const std::string& content : {std::string("abc\ndef\n"), std::string("abc\r\nX-Injected: 1"),
                                     std::string("abc\0def", 7), std::string("abc\x1b[0mdef")}) {
    Result<std::string> token = ReadTokenFile(Write(content));
    ASSERT_FALSE(token.ok()) << content;
    EXPECT_EQ(token.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(token.status().message(), HasSubstr("control character"));
  }
}

TEST_F(TokenFileTest, ADirectoryIsNotAToken) {
  const std::string path = dir_.File("dir");
  ASSERT_EQ(mkdir(path.c_str(), 0700), 0);
  EXPECT_FALSE(ReadTokenFile(path).ok());
}

TEST_F(TokenFileTest, MissingFileIsAnIOErrorNamingThePath) {
  const std::string path = dir_.File("absent");
  Result<std::string> token = ReadTokenFile(path);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), Status::Code::kIOError);
  EXPECT_THAT(token.status().message(), HasSubstr(path));
  EXPECT_THAT(token.status().message(), HasSubstr("No such file"));
}

}  // namespace
}  // namespace mesh

namespace mesh {
namespace base_token_file_test {

TEST(ConstantTimeEquals, EqualOnlyWhenSameBytesAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("s3cret", "s3cret"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("s3cret", "s3creT"));
  EXPECT_FALSE(ConstantTimeEquals("s3cret", "s3cre"));
  EXPECT_FALSE(ConstantTimeEquals("s3cre", "s3cret"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("a\0", 2), "a"));  // a NUL is a byte like another
}

TEST(BearerTokenMatches, AcceptsOnlyTheExactTokenAfterBearer) {
  EXPECT_TRUE(BearerTokenMatches("Bearer s3cret", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Bearer s3cre", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Bearer s3cretX", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("bearer s3cret", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Basic s3cret", "s3cret"));
  EXPECT_FALSE(BearerTokenMatches("Bearer ", ""));
  EXPECT_FALSE(BearerTokenMatches("", "s3cret"));
}

}  // namespace
}  // namespace mesh
