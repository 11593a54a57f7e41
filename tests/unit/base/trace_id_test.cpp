#include "mesh/base/trace_id.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

#include "test_support.h"

namespace mesh {
namespace base_trace_id_test {

TEST(TraceId, AcceptsLowercaseHexOf32Digits) {
  EXPECT_TRUE(IsValidTraceId("4bf92f3577b34da6a3ce929d0e0e4736"));
  EXPECT_TRUE(IsValidTraceId("00000000000000000000000000000001"));
  EXPECT_TRUE(IsValidTraceId("ffffffffffffffffffffffffffffffff"));
}

TEST(TraceId, RejectsAllZeroTraceId) {
  EXPECT_FALSE(IsValidTraceId("00000000000000000000000000000000"));
}

TEST(TraceId, RejectsUppercaseHex) {
  EXPECT_FALSE(IsValidTraceId("4BF92F3577B34DA6A3CE929D0E0E4736"));
  EXPECT_FALSE(IsValidTraceId("4bf92f3577b34da6a3ce929d0e0e473A"));
}

TEST(TraceId, RejectsWrongLengths) {
  const std::string valid = "4bf92f3577b34da6a3ce929d0e0e4736";
  for (size_t n = 0; n < valid.size(); ++n) {
    EXPECT_FALSE(IsValidTraceId(valid.substr(0, n))) << n;
  }
  EXPECT_FALSE(IsValidTraceId(valid + "0"));
  EXPECT_FALSE(IsValidTraceId(valid + valid));
  EXPECT_FALSE(IsValidTraceId("00f067aa0ba902b7"));  // a span id is not a trace id
}

TEST(TraceId, RejectsNonHexCharacters) {
  for (char c : std::string("ghxzGZ-_ .:\n\t\x7f")) {
    std::string id = "4bf92f3577b34da6a3ce929d0e0e4736";
    id[7] = c;
    EXPECT_FALSE(IsValidTraceId(id)) << static_cast<int>(c);
  }
  std::string with_nul = "4bf92f3577b34da6a3ce929d0e0e4736";
  with_nul[0] = '\0';
  EXPECT_FALSE(IsValidTraceId(with_nul));
  std::string with_high = "4bf92f3577b34da6a3ce929d0e0e4736";
  with_high[31] = static_cast<char>(0xE9);
  EXPECT_FALSE(IsValidTraceId(with_high));
}

TEST(TraceId, RandomBytesAreValidOnlyWhenLowercaseHexOfTheRightLength) {
  testing::Garbage garbage(15, "0123456789abcdef");
  for (int i = 0; i < 20000; ++i) {
    const std::string id = garbage.Next(34);
    const bool hex = id.find_first_not_of("0123456789abcdef") == std::string::npos;
    const bool zero = id.find_first_not_of('0') == std::string::npos;
    EXPECT_EQ(IsValidTraceId(id), hex && !zero && id.size() == 32) << id;
    EXPECT_EQ(IsValidSpanId(id), hex && !zero && id.size() == 16) << id;
  }
}

TEST(SpanId, AcceptsLowercaseHexOf16Digits) {
  EXPECT_TRUE(IsValidSpanId("00f067aa0ba902b7"));
  EXPECT_TRUE(IsValidSpanId("0000000000000001"));
}

TEST(SpanId, RejectsAllZeroUppercaseWrongLengthAndNonHex) {
  EXPECT_FALSE(IsValidSpanId("0000000000000000"));
  EXPECT_FALSE(IsValidSpanId("00F067AA0BA902B7"));
  EXPECT_FALSE(IsValidSpanId("00f067aa0ba902b"));
  EXPECT_FALSE(IsValidSpanId("00f067aa0ba902b70"));
  EXPECT_FALSE(IsValidSpanId(""));
  EXPECT_FALSE(IsValidSpanId("00f067aa0ba902bg"));
  EXPECT_FALSE(IsValidSpanId("4bf92f3577b34da6a3ce929d0e0e4736"));
}

TEST(IdGenerator, ProducesValidIds) {
  IdGenerator gen;
  for (int i = 0; i < 1000; ++i) {
    const std::string trace = gen.NewTraceId();
    const std::string span = gen.NewSpanId();
    EXPECT_TRUE(IsValidTraceId(trace)) << trace;
    EXPECT_TRUE(IsValidSpanId(span)) << span;
  }
}

TEST(IdGenerator, ProducesDistinctIds) {
  IdGenerator gen;
  std::set<std::string> traces;
  std::set<std::string> spans;
  for (int i = 0; i < 10000; ++i) {
    traces.insert(gen.NewTraceId());
    spans.insert(gen.NewSpanId());
  }
  EXPECT_EQ(traces.size(), 10000u);
  EXPECT_EQ(spans.size(), 10000u);
}

TEST(IdGenerator, AFixedSeedRepeatsTheSameSequence) {
  IdGenerator a(42);
  IdGenerator b(42);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(a.NewTraceId(), b.NewTraceId());
    EXPECT_EQ(a.NewSpanId(), b.NewSpanId());
  }
}

TEST(IdGenerator, DifferentSeedsGiveDifferentIds) {
  IdGenerator a(1);
  IdGenerator b(2);
  EXPECT_NE(a.NewTraceId(), b.NewTraceId());
}

TEST(IdGenerator, FixedSeedZeroStillGivesValidIds) {
  IdGenerator gen(0);
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(IsValidTraceId(gen.NewTraceId()));
    EXPECT_TRUE(IsValidSpanId(gen.NewSpanId()));
  }
}

TEST(IdGenerator, ThreadLocalGeneratorsDifferAcrossThreads) {
  const std::string here = IdGenerator::ThreadLocal().NewTraceId();
  std::string there;
  std::thread t([&] { there = IdGenerator::ThreadLocal().NewTraceId(); });
  t.join();
  EXPECT_TRUE(IsValidTraceId(here));
  EXPECT_TRUE(IsValidTraceId(there));
  EXPECT_NE(here, there);
  // The same thread keeps drawing from one generator.
  EXPECT_EQ(&IdGenerator::ThreadLocal(), &IdGenerator::ThreadLocal());
}

}  // namespace
}  // namespace mesh
