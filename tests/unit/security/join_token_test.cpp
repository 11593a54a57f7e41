#include "mesh/security/join_token.h"

#include <gtest/gtest.h>

#include <set>

#include "mesh/security/digest.h"

namespace mesh {
namespace security_join_token_test {

TEST(JoinToken, GeneratedTokensHaveTheKubeadmShapeAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    Result<JoinToken> t = GenerateJoinToken();
    ASSERT_TRUE(t.ok());
    ASSERT_EQ(t->id.size(), 6u);
    ASSERT_EQ(t->secret.size(), 32u);
    Result<JoinToken> parsed = ParseJoinToken(t->ToString());
    ASSERT_TRUE(parsed.ok()) << t->ToString();
    EXPECT_EQ(parsed->id, t->id);
    EXPECT_EQ(parsed->secret, t->secret);
    seen.insert(t->secret);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(JoinToken, ParseRefusesEverythingButTheExactForm) {
  const std::string good = "abc123.0123456789abcdefghijklmnopqrstuv";
  ASSERT_TRUE(ParseJoinToken(good).ok());
  for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(ParseJoinToken(good.substr(0, n)).ok()) << n;
  for (const std::string& bad : std::vector<std::string>{
           good + "w", "ABC123.0123456789abcdefghijklmnopqrstuv", "abc123-0123456789abcdefghijklmnopqrstuv",
        "abc123.0123456789abcdefghijklmnopqrst.v", std::string("abc123.0123456789abcdefghijklmnopqrstu\0", 39),
        "abc12.30123456789abcdefghijklmnopqrstuv", " abc123.0123456789abcdefghijklmnopqrstu"}) {
    EXPECT_FALSE(ParseJoinToken(bad).ok()) << bad;
  }
}

TEST(Digest, Sha256HexMatchesTheStandardVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace mesh
