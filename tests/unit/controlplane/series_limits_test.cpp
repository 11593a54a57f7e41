#include "mesh/controlplane/series_limits.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "mesh/base/json_text.h"

namespace mesh {
namespace controlplane_series_limits_test {

MetricFamily Gauge(const std::string& name, const std::vector<Labels>& label_sets) {
  MetricFamily f{name, "", MetricType::kGauge, {}};
  for (const Labels& labels : label_sets) f.samples.push_back({name, labels, 1, {}});
  return f;
}

TEST(SeriesLimits, CountsDistinctSeriesByServiceLabel) {
  const std::vector<MetricFamily> push = {
      Gauge("a", {{{"service", "api"}}, {{"service", "api"}}, {{"service", "web"}}, {}}),
      Gauge("b", {{{"route", "/x"}, {"service", "api"}}})};
  const std::map<std::string, int64_t> by_service = DistinctSeriesByService(push);
  EXPECT_EQ(by_service, (std::map<std::string, int64_t>{{"", 1}, {"api", 2}, {"web", 1}}));
}

TEST(SeriesLimits, PerPushRefusesOnlyPastTheLimit) {
  const SeriesLimits limits{.per_push = 3, .per_service = 100};
  EXPECT_EQ(CheckSeriesPerPush({{"api", 2}, {"", 1}}, limits), std::nullopt);
  const std::optional<SeriesRefusal> over = CheckSeriesPerPush({{"api", 2}, {"", 2}}, limits);
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->reason, "per_push");
  EXPECT_EQ(over->limit, 3u);
  EXPECT_EQ(over->series, 4);
}

TEST(SeriesLimits, PerServiceAsksTheStoreOnlyForServicesGettingNewSeries) {
  const SeriesLimits limits{.per_push = 100, .per_service = 10};
  std::set<std::string> asked;
  const auto stored = [&](const std::string& service) -> int64_t {
    asked.insert(service);
    return service == "full" ? 9 : 0;
  };
  EXPECT_EQ(CheckSeriesPerService({{"full", 1}, {"steady", 0}}, limits, stored), std::nullopt);
  EXPECT_EQ(asked, std::set<std::string>{"full"});
  const std::optional<SeriesRefusal> over = CheckSeriesPerService({{"full", 2}}, limits, stored);
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->reason, "per_service");
  EXPECT_EQ(over->service, "full");
  EXPECT_EQ(over->series, 11);
}

TEST(SeriesLimits, RefusalSaysWhichBoundTheServiceAndTheLimit) {
  const HttpResponse per_service = SeriesRefusalResponse({"per_service", "api\"x", 50000, 50001});
  EXPECT_EQ(per_service.status, 400);
  Result<Json::Value> body = ParseJson(per_service.body);
  ASSERT_TRUE(body.ok()) << per_service.body;
  EXPECT_EQ((*body)["bound"].asString(), "per_service");
  EXPECT_EQ((*body)["service"].asString(), "api\"x");
  EXPECT_EQ((*body)["limit"].asInt(), 50000);
  EXPECT_NE((*body)["error"].asString().find("--max-series-per-service"), std::string::npos);
  const HttpResponse per_push = SeriesRefusalResponse({"per_push", "", 10, 11});
  body = ParseJson(per_push.body);
  ASSERT_TRUE(body.ok()) << per_push.body;
  EXPECT_EQ((*body)["bound"].asString(), "per_push");
  EXPECT_FALSE(body->isMember("service"));
  EXPECT_NE((*body)["error"].asString().find("nothing stored"), std::string::npos);
}

}  // namespace
}  // namespace mesh
