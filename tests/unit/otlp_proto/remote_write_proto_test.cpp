#include "mesh/otlp_proto/remote_write_proto.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace mesh {
namespace otlp_proto_remote_write_proto_test {

MetricSample At(std::string name, Labels labels, double value, int64_t ts_ms) {
  return {std::move(name), std::move(labels), value, ts_ms};
}

TEST(RemoteWriteProto, RoundTripsSamplesGroupedBySeriesInOrder) {
  const std::vector<MetricSample> sent = {
      At("mesh_requests_total", {{"code", "200"}, {"service", "api"}}, 10, 1000),
      At("mesh_up", {{"service", "api"}}, 1, 1000),
      At("mesh_requests_total", {{"code", "200"}, {"service", "api"}}, 12.5, 2000),
      At("mesh_up", {}, -3e300, 3000),
  };
  Result<std::vector<MetricSample>> got = DecodeRemoteWriteRequest(EncodeRemoteWriteRequest(sent));
  ASSERT_TRUE(got.ok()) << got.status().message();
  // Series by first appearance, each series' samples in the order given.
  ASSERT_EQ(got->size(), 4u);
  const std::vector<size_t> order = {0, 2, 1, 3};
  for (size_t i = 0; i < order.size(); ++i) {
    const MetricSample& want = sent[order[i]];
    EXPECT_EQ((*got)[i].name, want.name);
    EXPECT_EQ((*got)[i].labels, want.labels);
    EXPECT_EQ((*got)[i].value, want.value);
    EXPECT_EQ((*got)[i].timestamp_ms, want.timestamp_ms);
  }
}

TEST(RemoteWriteProto, KeepsNanAndInfinities) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  Result<std::vector<MetricSample>> got = DecodeRemoteWriteRequest(
      EncodeRemoteWriteRequest({At("g", {}, nan, 1), At("g", {}, inf, 2), At("g", {}, -inf, 3)}));
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 3u);
  EXPECT_TRUE(std::isnan((*got)[0].value));
  EXPECT_EQ((*got)[1].value, inf);
  EXPECT_EQ((*got)[2].value, -inf);
}

// The specification wants labels sorted by name, __name__ among them: an upper-case label
// name sorts before it.
TEST(RemoteWriteProto, SortsLabelsWithTheNameAmongThem) {
  const std::string body = EncodeRemoteWriteRequest({At("m", {{"Zone", "a"}, {"job", "x"}}, 1, 1)});
  std::string raw;
  ASSERT_TRUE(snappy::Uncompress(body.data(), body.size(), &raw));
  const size_t zone = raw.find("Zone");
  const size_t name = raw.find("__name__");
  const size_t job = raw.find("job");
  ASSERT_NE(zone, std::string::npos);
  EXPECT_LT(zone, name);
  EXPECT_LT(name, job);
}

TEST(RemoteWriteProto, HeadersAreThoseOfVersion1) {
  const auto headers = RemoteWriteHeaders();
  const std::vector<std::pair<std::string, std::string>> want = {
      {"Content-Encoding", "snappy"},
      {"Content-Type", "application/x-protobuf"},
      {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
  EXPECT_EQ(headers, want);
}

TEST(RemoteWriteProto, RefusesABodyThatIsNotSnappy) {
  EXPECT_FALSE(DecodeRemoteWriteRequest("\xff\xff\xff\xff\xff\xff plainly not snappy").ok());
}

TEST(RemoteWriteProto, RefusesABodyInflatingBeyondTheLimit) {
  const std::string body = EncodeRemoteWriteRequest({At(std::string(5000, 'm'), {}, 1, 1)});
  Result<std::vector<MetricSample>> got = DecodeRemoteWriteRequest(body, 1000);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("inflates"), std::string::npos);
}

TEST(RemoteWriteProto, NeverCrashesOnAnyPrefixOfABody) {
  const std::string body = EncodeRemoteWriteRequest(
      {At("mesh_requests_total", {{"service", "api"}}, 10, 1000), At("up", {}, 1, 2000)});
  for (size_t n = 0; n < body.size(); ++n) {
    Result<std::vector<MetricSample>> got = DecodeRemoteWriteRequest(body.substr(0, n));
    EXPECT_FALSE(got.ok() && got->size() == 2) << "a body cut at " << n << " decoded whole";
  }
}

}  // namespace otlp_proto_remote_write_proto_test
}  // namespace mesh
