#include "mesh/telemetry/traceparent.h"

#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace mesh {
namespace telemetry_traceparent_test {

constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kSpanId[] = "00f067aa0ba902b7";
const std::string kHeader = std::string("00-") + kTraceId + "-" + kSpanId + "-01";

void ExpectInvalid(const std::string& header) {
  Result<TraceParent> parsed = ParseTraceParent(header);
  ASSERT_FALSE(parsed.ok()) << header;
  EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidArgument) << header;
  EXPECT_NE(parsed.status().message().find("traceparent"), std::string::npos);
}

TEST(ParseTraceParent, ParsesTheSpecExample) {
  Result<TraceParent> parsed = ParseTraceParent(kHeader);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->trace_id, kTraceId);
  EXPECT_EQ(parsed->span_id, kSpanId);
  EXPECT_TRUE(parsed->sampled);
}

TEST(ParseTraceParent, SampledIsTheLowestFlagBit) {
  const std::string base = std::string("00-") + kTraceId + "-" + kSpanId + "-";
  EXPECT_FALSE(ParseTraceParent(base + "00")->sampled);
  EXPECT_TRUE(ParseTraceParent(base + "01")->sampled);
  EXPECT_FALSE(ParseTraceParent(base + "02")->sampled);  // unknown bits are ignored
  EXPECT_TRUE(ParseTraceParent(base + "ff")->sampled);
}

TEST(ParseTraceParent, RejectsAllZeroTraceId) {
  ExpectInvalid(std::string("00-") + std::string(32, '0') + "-" + kSpanId + "-01");
}

TEST(ParseTraceParent, RejectsAllZeroParentId) {
  ExpectInvalid(std::string("00-") + kTraceId + "-" + std::string(16, '0') + "-01");
}

TEST(ParseTraceParent, RejectsUppercaseHexAnywhere) {
  ExpectInvalid("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01");
  ExpectInvalid("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01");
  ExpectInvalid("0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ExpectInvalid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A");
}

TEST(ParseTraceParent, RejectsVersionFf) {
  ExpectInvalid(std::string("ff-") + kTraceId + "-" + kSpanId + "-01");
}

TEST(ParseTraceParent, RejectsVersionZeroWithTrailingData) {
  ExpectInvalid(kHeader + "-extra");
  ExpectInvalid(kHeader + "-");
  ExpectInvalid(kHeader + "0");
}

TEST(ParseTraceParent, AcceptsAHigherVersionByItsFirstFourFields) {
  const std::string base = std::string("cc-") + kTraceId + "-" + kSpanId + "-01";
  for (const std::string& header : {base, base + "-what-the-future-will-be-like"}) {
    Result<TraceParent> parsed = ParseTraceParent(header);
    ASSERT_TRUE(parsed.ok()) << header << ": " << parsed.status().message();
    EXPECT_EQ(parsed->trace_id, kTraceId);
    EXPECT_EQ(parsed->span_id, kSpanId);
    EXPECT_TRUE(parsed->sampled);
  }
}

TEST(ParseTraceParent, RejectsAHigherVersionWhenFlagsRunOn) {
  ExpectInvalid(std::string("cc-") + kTraceId + "-" + kSpanId + "-01x");
  ExpectInvalid(std::string("cc-") + kTraceId + "-" + kSpanId + "-010");
}

TEST(ParseTraceParent, RejectsWrongLengthsAndSeparators) {
  ExpectInvalid("");
  ExpectInvalid("00");
  ExpectInvalid(std::string("00-") + kTraceId + "1-" + kSpanId + "-01");  // 33 digits
  ExpectInvalid(std::string("00-") + std::string(kTraceId).substr(1) + "-" + kSpanId + "-01x");
  ExpectInvalid(std::string("00-") + kTraceId + "-" + std::string(kSpanId).substr(1) + "-01");
  ExpectInvalid(std::string("00-") + kTraceId + "-" + kSpanId + "-1");
  ExpectInvalid(std::string("00_") + kTraceId + "_" + kSpanId + "_01");
  ExpectInvalid(std::string("0-") + kTraceId + "-" + kSpanId + "-01");
}

TEST(ParseTraceParent, RejectsNonHexCharacters) {
  ExpectInvalid(std::string("00-") + "4bf92f3577b34da6a3ce929d0e0e473g" + "-" + kSpanId + "-01");
  ExpectInvalid(std::string("00-") + kTraceId + "-" + "00f067aa0ba902bz" + "-01");
  ExpectInvalid(std::string("0x-") + kTraceId + "-" + kSpanId + "-01");
  ExpectInvalid(std::string("00-") + kTraceId + "-" + kSpanId + "-0z");
}

TEST(ParseTraceParent, IgnoresSurroundingWhitespace) {
  Result<TraceParent> parsed = ParseTraceParent(" \t" + kHeader + " ");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->trace_id, kTraceId);
}

TEST(ParseTraceParent, EveryTruncationIsRejected) {
  for (size_t n = 0; n < kHeader.size(); ++n) ExpectInvalid(kHeader.substr(0, n));
}

TEST(ParseTraceParent, GarbageNeverCrashes) {
  testing::Garbage garbage(7, "0123456789abcdefABCDEF-f ");
  for (int i = 0; i < 5000; ++i) {
    const std::string header = garbage.Next(80);
    Result<TraceParent> parsed = ParseTraceParent(header);
    if (parsed.ok()) {
      EXPECT_EQ(parsed->trace_id.size(), 32u) << header;
    }
  }
}

TEST(FormatTraceParent, WritesVersionZeroWithSampledFlag) {
  EXPECT_EQ(FormatTraceParent({kTraceId, kSpanId, true}), kHeader);
  EXPECT_EQ(FormatTraceParent({kTraceId, kSpanId, false}),
            std::string("00-") + kTraceId + "-" + kSpanId + "-00");
}

TEST(AppendTraceParent, AppendsAfterWhatIsThere) {
  std::string out = "traceparent: ";
  AppendTraceParent(out, kTraceId, kSpanId, true);
  EXPECT_EQ(out, std::string("traceparent: ") + kHeader);
}

TEST(FormatTraceParent, RoundTripsThroughParse) {
  for (bool sampled : {true, false}) {
    Result<TraceParent> parsed = ParseTraceParent(FormatTraceParent({kTraceId, kSpanId, sampled}));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->trace_id, kTraceId);
    EXPECT_EQ(parsed->span_id, kSpanId);
    EXPECT_EQ(parsed->sampled, sampled);
  }
}

}  // namespace
}  // namespace mesh
