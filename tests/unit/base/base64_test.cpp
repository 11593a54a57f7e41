#include "mesh/base/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace mesh {
namespace base_base64_test {

TEST(Base64Encode, PadsAsRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(Base64Decode, ReadsBothAlphabetsWithOrWithoutPadding) {
  EXPECT_EQ(Base64Decode("Zm9vYg=="), "foob");
  EXPECT_EQ(Base64Decode("Zm9vYg"), "foob");
  EXPECT_EQ(Base64Decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(Base64Decode(""), "");
  EXPECT_EQ(Base64Decode("//4A"), std::string("\xff\xfe\x00", 3));
  EXPECT_EQ(Base64Decode("__4A"), std::string("\xff\xfe\x00", 3));
}

TEST(Base64Decode, RoundTripsEveryByte) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (size_t n = 0; n <= bytes.size(); n += 37) {
    EXPECT_EQ(Base64Decode(Base64Encode(bytes.substr(0, n))), bytes.substr(0, n));
  }
}

TEST(Base64Decode, RefusesWhatNoEncodingWrites) {
  EXPECT_FALSE(Base64Decode("Zm9v!"));       // not in either alphabet
  EXPECT_FALSE(Base64Decode("Z"));           // a length no encoding has
  EXPECT_FALSE(Base64Decode("Zm=v"));        // padding in the middle
  EXPECT_FALSE(Base64Decode("Zg==="));       // three padding characters
  EXPECT_FALSE(Base64Decode("Zh=="));        // leftover bits set: would alias "Zg=="
  EXPECT_FALSE(Base64Decode("Zm9v YmFy"));   // whitespace
  EXPECT_FALSE(Base64Decode(std::string("Zm\0v", 4)));
}

}  // namespace base_base64_test
}  // namespace mesh
