#include "mesh/telemetry/saturation.h"

#include <gtest/gtest.h>
#include <json/json.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mesh {
namespace telemetry_saturation_test {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;

Json::Value Parse(const std::string& text) {
  Json::Value v;
  std::unique_ptr<Json::CharReader> reader(Json::CharReaderBuilder().newCharReader());
  std::string errors;
  EXPECT_TRUE(reader->parse(text.data(), text.data() + text.size(), &v, &errors)) << errors << "\n" << text;
  return v;
}

TEST(CounterRate, IsTheIncreasePerSecondAcrossThePoints) {
  EXPECT_DOUBLE_EQ(*CounterRate({{kT0, 10}, {kT0 + 10 * kSecond, 15}, {kT0 + 20 * kSecond, 30}}), 1.0);
}

TEST(CounterRate, TakesADropAsARestart) {
  // 10 -> 14 (+4), restart, -> 2 (+2): 6 over 3 s.
  EXPECT_DOUBLE_EQ(*CounterRate({{kT0, 10}, {kT0 + kSecond, 14}, {kT0 + 3 * kSecond, 2}}), 2.0);
}

TEST(CounterRate, NeedsTwoPointsApartInTime) {
  EXPECT_FALSE(CounterRate({}));
  EXPECT_FALSE(CounterRate({{kT0, 1}}));
  EXPECT_FALSE(CounterRate({{kT0, 1}, {kT0, 5}}));
}

TEST(LastPerBucket, KeepsTheNewestPointOfEachBucketAndIgnoresOutsiders) {
  const std::vector<TimedValue> points = {{kT0 - kSecond, 99},     {kT0 + kSecond, 1}, {kT0 + 2 * kSecond, 2},
                                          {kT0 + 25 * kSecond, 3}, {kT0 + 40 * kSecond, 4}, {kT0 + 41 * kSecond, 5}};
  const std::vector<std::optional<TimedValue>> b = LastPerBucket(points, kT0, kT0 + 40 * kSecond, 4);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0]->value, 2);
  EXPECT_FALSE(b[1]);
  EXPECT_EQ(b[2]->value, 3);
  EXPECT_EQ(b[3]->value, 4);  // the window's end belongs to the last bucket; 41 s is past it
}

TEST(LastPerBucket, AnEmptyOrBackwardWindowHasNoPoints) {
  EXPECT_TRUE(LastPerBucket({{kT0, 1}}, kT0, kT0 + kSecond, 0).empty());
  const auto backward = LastPerBucket({{kT0, 1}}, kT0 + kSecond, kT0, 3);
  ASSERT_EQ(backward.size(), 3u);
  EXPECT_FALSE(backward[0] || backward[1] || backward[2]);
}

TEST(RatePerBucket, MeasuresEachBucketFromTheNewestPointBeforeIt) {
  // Buckets of 10 s from kT0; a baseline 5 s before the window.
  const std::vector<TimedValue> points = {{kT0 - 5 * kSecond, 0}, {kT0 + 5 * kSecond, 5}, {kT0 + 15 * kSecond, 25},
                                          {kT0 + 35 * kSecond, 30}};
  const std::vector<std::optional<double>> rates = RatePerBucket(points, kT0, kT0 + 40 * kSecond, 4);
  ASSERT_EQ(rates.size(), 4u);
  EXPECT_DOUBLE_EQ(*rates[0], 0.5);   // 0 -> 5 over 10 s
  EXPECT_DOUBLE_EQ(*rates[1], 2.0);   // 5 -> 25 over 10 s
  EXPECT_FALSE(rates[2]);             // no sample
  EXPECT_DOUBLE_EQ(*rates[3], 0.25);  // 25 -> 30 over the 20 s since the last point
}

TEST(RatePerBucket, WithoutAnEarlierPointUsesTheBucketsOwnSpan) {
  const std::vector<TimedValue> points = {{kT0 + kSecond, 10}, {kT0 + 5 * kSecond, 18}, {kT0 + 25 * kSecond, 19}};
  const std::vector<std::optional<double>> rates = RatePerBucket(points, kT0, kT0 + 40 * kSecond, 4);
  EXPECT_DOUBLE_EQ(*rates[0], 2.0);  // 10 -> 18 inside the bucket, over 4 s
  EXPECT_FALSE(rates[1]);
  EXPECT_DOUBLE_EQ(*rates[2], 0.05);  // 18 -> 19 over 20 s
  EXPECT_FALSE(RatePerBucket({{kT0 + kSecond, 10}}, kT0, kT0 + 40 * kSecond, 4)[0]);  // one point: no rate
}

TEST(SaturationJson, WritesEveryFigureAndNullForTheUnknown) {
  InstanceSaturation i;
  i.instance = "10.0.0.1:8080";
  i.last_sample_ns = kT0;
  i.cpu_cores = 0.25;
  i.resident_bytes = 1048576;
  i.open_fds = 12;
  i.max_fds = 1024;
  i.connections = 3;
  i.queue_capacity = 4096;
  i.workers = 4;
  i.busy_workers = 1;
  i.worker_utilization = 0.25;
  i.history.push_back({.end_ns = kT0,
                       .cpu_cores = 0.5,
                       .resident_bytes = std::nan(""),
                       .connections = 2,
                       .worker_utilization = 0.75});
  const Json::Value v = Parse(SaturationJson("api", 3600 * kSecond, {i}));
  EXPECT_EQ(v["service"].asString(), "api");
  EXPECT_EQ(v["window_seconds"].asDouble(), 3600);
  const Json::Value& inst = v["instances"][0];
  EXPECT_EQ(inst["instance"].asString(), "10.0.0.1:8080");
  EXPECT_EQ(inst["last_sample"].asString(), "2025-11-25T13:00:00.000Z");
  EXPECT_EQ(inst["cpu_cores"].asDouble(), 0.25);
  EXPECT_EQ(inst["resident_bytes"].asDouble(), 1048576);
  EXPECT_EQ(inst["open_fds"].asDouble(), 12);
  EXPECT_EQ(inst["max_fds"].asDouble(), 1024);
  EXPECT_EQ(inst["connections"].asDouble(), 3);
  EXPECT_TRUE(inst["queue_depth"].isNull());
  EXPECT_EQ(inst["queue_capacity"].asDouble(), 4096);
  EXPECT_EQ(inst["workers"].asDouble(), 4);
  EXPECT_EQ(inst["busy_workers"].asDouble(), 1);
  EXPECT_EQ(inst["worker_utilization"].asDouble(), 0.25);
  ASSERT_EQ(inst["history"].size(), 1u);
  EXPECT_EQ(inst["history"][0]["worker_utilization"].asDouble(), 0.75);
  EXPECT_EQ(inst["history"][0]["cpu_cores"].asDouble(), 0.5);
  EXPECT_TRUE(inst["history"][0]["resident_bytes"].isNull());  // NaN is not JSON
  EXPECT_TRUE(inst["history"][0]["queue_depth"].isNull());
}

TEST(SaturationJson, EscapesHostileInstanceNames) {
  InstanceSaturation i;
  i.instance = "\"</script><img src=x onerror=alert(1)>\n";
  const Json::Value v = Parse(SaturationJson("api", kSecond, {i}));
  EXPECT_EQ(v["instances"][0]["instance"].asString(), i.instance);
  EXPECT_EQ(Parse(SaturationJson("api", kSecond, {}))["instances"].size(), 0u);
}

}  // namespace telemetry_saturation_test
}  // namespace mesh
