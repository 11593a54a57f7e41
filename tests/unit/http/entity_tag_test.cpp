#include "mesh/http/entity_tag.h"

#include <gtest/gtest.h>

namespace mesh {
namespace http_entity_tag_test {

TEST(EntityTag, IsWeakAndQuoted) { EXPECT_EQ(WeakEntityTag("7-12"), "W/\"7-12\""); }

TEST(IfNoneMatch, HitsTheSameTagComparedWeakly) {
  EXPECT_TRUE(IfNoneMatchHits("W/\"7-12\"", "W/\"7-12\"", true));
  EXPECT_TRUE(IfNoneMatchHits("\"7-12\"", "W/\"7-12\"", true)) << "weak comparison ignores W/";
  EXPECT_TRUE(IfNoneMatchHits(" \"a\" , W/\"7-12\" ", "W/\"7-12\"", true)) << "any tag of the list";
}

TEST(IfNoneMatch, MissesAnotherTag) {
  EXPECT_FALSE(IfNoneMatchHits("W/\"7-11\"", "W/\"7-12\"", true));
  EXPECT_FALSE(IfNoneMatchHits("W/\"6-12\"", "W/\"7-12\"", true)) << "another epoch";
  EXPECT_FALSE(IfNoneMatchHits("", "W/\"7-12\"", true)) << "no header";
}

TEST(IfNoneMatch, StarHitsOnlyWhatExists) {
  EXPECT_TRUE(IfNoneMatchHits("*", "W/\"7-12\"", true));
  EXPECT_FALSE(IfNoneMatchHits("*", "W/\"7-0\"", false));
}

TEST(IfNoneMatch, RefusesMalformedListsRatherThanGuess) {
  EXPECT_FALSE(IfNoneMatchHits("7-12", "W/\"7-12\"", true)) << "unquoted";
  EXPECT_FALSE(IfNoneMatchHits("W/7-12", "W/\"7-12\"", true));
  EXPECT_FALSE(IfNoneMatchHits("\"", "W/\"\"", true)) << "a lone quote";
  EXPECT_FALSE(IfNoneMatchHits("\"7-\"12\"", "W/\"7-\"12\"", true)) << "a quote inside";
  EXPECT_FALSE(IfNoneMatchHits("junk, W/\"7-12\"", "W/\"7-12\"", true)) << "garbage before the tag";
  EXPECT_FALSE(IfNoneMatchHits(",,,", "W/\"7-12\"", true));
}

}  // namespace http_entity_tag_test
}  // namespace mesh
