#include "mesh/base/retry_backoff.h"

#include <gtest/gtest.h>

namespace mesh {
namespace base_retry_backoff_test {

using std::chrono::milliseconds;

TEST(RetryBackoff, DoublesTheCeilingPerFailureUpToTheMax) {
  RetryBackoff backoff({.initial = milliseconds(100), .max = milliseconds(1000)});
  // uniform 0.999...: the delay is (almost) the ceiling itself.
  const double top = 0.999999;
  EXPECT_EQ(backoff.NextDelay(top), milliseconds(99));
  EXPECT_EQ(backoff.NextDelay(top), milliseconds(199));
  EXPECT_EQ(backoff.NextDelay(top), milliseconds(399));
  EXPECT_EQ(backoff.NextDelay(top), milliseconds(799));
  EXPECT_EQ(backoff.NextDelay(top), milliseconds(999));
  EXPECT_EQ(backoff.NextDelay(top), milliseconds(999));
}

TEST(RetryBackoff, JitterPicksBetweenHalfTheCeilingAndTheCeiling) {
  RetryBackoff low({.initial = milliseconds(1000), .max = milliseconds(8000)});
  RetryBackoff mid({.initial = milliseconds(1000), .max = milliseconds(8000)});
  EXPECT_EQ(low.NextDelay(0.0), milliseconds(500));
  EXPECT_EQ(mid.NextDelay(0.5), milliseconds(750));
  EXPECT_EQ(low.NextDelay(0.0), milliseconds(1000));
}

TEST(RetryBackoff, ClampsRandomnessOutsideZeroToOne) {
  RetryBackoff backoff({.initial = milliseconds(1000), .max = milliseconds(8000)});
  EXPECT_EQ(backoff.NextDelay(-5), milliseconds(500));
  EXPECT_EQ(backoff.NextDelay(7), milliseconds(2000));
}

TEST(RetryBackoff, ResetStartsOverFromTheInitialDelay) {
  RetryBackoff backoff({.initial = milliseconds(100), .max = milliseconds(10000)});
  for (int i = 0; i < 5; ++i) backoff.NextDelay(0);
  backoff.Reset();
  EXPECT_EQ(backoff.NextDelay(0), milliseconds(50));
}

}  // namespace base_retry_backoff_test
}  // namespace mesh
