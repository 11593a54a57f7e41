#include "mesh/http2/grpc_framing.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace mesh {
namespace http2_grpc_framing_test {

TEST(GrpcFraming, EncodesFlagAndBigEndianLength) {
  const std::string framed = EncodeGrpcMessage(std::string(300, 'x'), true);
  ASSERT_EQ(framed.size(), 305u);
  EXPECT_EQ(framed.substr(0, 5), std::string("\x01\x00\x00\x01\x2c", 5));
}

TEST(GrpcFraming, DecodesWhatItEncodes) {
  const Result<GrpcMessage> m = DecodeUnaryGrpcMessage(EncodeGrpcMessage("payload"));
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_FALSE(m->compressed);
  EXPECT_EQ(m->payload, "payload");
}

TEST(GrpcFraming, AcceptsAnEmptyMessage) {
  const Result<GrpcMessage> m = DecodeUnaryGrpcMessage(std::string(5, '\0'));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->payload, "");
}

TEST(GrpcFraming, RefusesEveryTruncationOfAMessage) {
  const std::string framed = EncodeGrpcMessage("0123456789");
  for (size_t n = 0; n < framed.size(); ++n) {
    EXPECT_FALSE(DecodeUnaryGrpcMessage(framed.substr(0, n)).ok()) << "cut at " << n;
  }
}

TEST(GrpcFraming, RefusesBytesAfterTheOneMessageOfAUnaryCall) {
  const std::string two = EncodeGrpcMessage("a") + EncodeGrpcMessage("b");
  const Result<GrpcMessage> m = DecodeUnaryGrpcMessage(two);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("after the one message"), std::string::npos);
}

TEST(GrpcFraming, RefusesAFlagOtherThanZeroOrOne) {
  std::string framed = EncodeGrpcMessage("a");
  framed[0] = '\x02';
  EXPECT_FALSE(DecodeUnaryGrpcMessage(framed).ok());
}

TEST(GrpcFraming, RefusesALengthPastTheEndWithoutReadingIt) {
  // A hostile 4 GiB length on a 6-byte body: refused as cut short, nothing allocated for it.
  const std::string framed("\x00\xff\xff\xff\xff" "a", 6);
  EXPECT_FALSE(DecodeUnaryGrpcMessage(framed).ok());
}

TEST(GrpcTimeout, ParsesEveryUnit) {
  EXPECT_EQ(ParseGrpcTimeout("2H"), 2 * 3'600'000'000'000LL);
  EXPECT_EQ(ParseGrpcTimeout("3M"), 180'000'000'000LL);
  EXPECT_EQ(ParseGrpcTimeout("1S"), 1'000'000'000LL);
  EXPECT_EQ(ParseGrpcTimeout("250m"), 250'000'000LL);
  EXPECT_EQ(ParseGrpcTimeout("7u"), 7'000LL);
  EXPECT_EQ(ParseGrpcTimeout("99999999n"), 99'999'999LL);
}

TEST(GrpcTimeout, RefusesMalformedValues) {
  for (const char* bad : {"", "S", "1", "1s", "1h", "-1S", "1 S", "123456789S", "1.5S", "+1S", "0x1S"}) {
    EXPECT_FALSE(ParseGrpcTimeout(bad).has_value()) << bad;
  }
}

TEST(GrpcTimeout, LargestHoursFitInNanoseconds) {
  // 99,999,999 hours is 3.6e20 ns, past int64: saturated, not wrapped negative.
  EXPECT_EQ(ParseGrpcTimeout("99999999H"), std::numeric_limits<int64_t>::max());
}

TEST(GrpcMessageEncoding, EscapesPercentControlAndNonAscii) {
  EXPECT_EQ(PercentEncodeGrpcMessage("bad span: 100% \xc3\xa9\n"), "bad span: 100%25 %C3%A9%0A");
  EXPECT_EQ(PercentEncodeGrpcMessage(std::string("\0\x7f", 2)), "%00%7F");
}

TEST(GrpcMessageEncoding, DecodesWhatItEncodesForEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string encoded = PercentEncodeGrpcMessage(all);
  for (char c : encoded) EXPECT_TRUE(c >= 0x20 && c <= 0x7e);
  EXPECT_EQ(PercentDecodeGrpcMessage(encoded), all);
}

TEST(GrpcMessageEncoding, KeepsAMalformedEscapeAsItIs) {
  EXPECT_EQ(PercentDecodeGrpcMessage("50%"), "50%");
  EXPECT_EQ(PercentDecodeGrpcMessage("%zz%4"), "%zz%4");
  EXPECT_EQ(PercentDecodeGrpcMessage("%41%"), "A%");
}

TEST(GrpcStatusTrailers, CarryStatusAndEncodedMessageOnlyWhenThereIsOne) {
  using Trailers = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(GrpcStatusTrailers(GrpcStatus::kOk, ""), (Trailers{{"grpc-status", "0"}}));
  EXPECT_EQ(GrpcStatusTrailers(GrpcStatus::kUnauthenticated, "no token\r\n"),
            (Trailers{{"grpc-status", "16"}, {"grpc-message", "no token%0D%0A"}}));
}

}  // namespace http2_grpc_framing_test
}  // namespace mesh
