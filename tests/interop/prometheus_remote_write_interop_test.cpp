// meshd --remote-write into a real Prometheus (Debian's, with --web.enable-remote-write-receiver):
// samples pushed to meshd are queried back through Prometheus' HTTP API with their values and
// timestamps, and none is lost while Prometheus is down (meshd restarted meanwhile too).
#include <gtest/gtest.h>
#include <json/json.h>

#include <chrono>
#include <string>
#include <vector>

#include "interop_support.h"
#include "meshd_fixture.h"

namespace mesh {
namespace {

using interop::PollUntil;
using interop::PrometheusServer;
using interop::QueryPrometheus;
using interop::TempDir;
using test_support::MeshdProcess;
using namespace std::chrono_literals;

constexpr char kReceiverFlag[] = "--web.enable-remote-write-receiver";
// Scrapes nothing: every series Prometheus has came by remote write.
constexpr char kNoScrapes[] = "global:\n  scrape_interval: 1m\n";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One push per sample: a series appears once per exposition.
void PushGauge(MeshdProcess& meshd, const std::string& name, double value, int64_t ts_ms) {
  const std::string text = "# TYPE " + name + " gauge\n" + name + "{zone=\"eu\"} " + std::to_string(value) + " " +
                           std::to_string(ts_ms) + "\n";
  HttpClientResponse r = meshd.Request("POST", "/v1/metrics?service=api&instance=i1", text);
  ASSERT_EQ(r.status, 200) << r.body << meshd.process().err();
}

// (timestamp ms, value) of every sample of the series in the last hour, as Prometheus answers them.
std::vector<std::pair<int64_t, std::string>> SamplesIn(const std::string& prometheus, const std::string& series) {
  const Json::Value result = QueryPrometheus(prometheus, series + "[1h]");
  std::vector<std::pair<int64_t, std::string>> samples;
  if (result.size() != 1) return samples;
  for (const Json::Value& point : result[0]["values"]) {
    samples.emplace_back(static_cast<int64_t>(point[0].asDouble() * 1000 + 0.5), point[1].asString());
  }
  return samples;
}

double MetricValue(MeshdProcess& meshd, const std::string& series) {
  const std::string text = meshd.Request("GET", "/metrics", "").body;
  const size_t at = text.find(series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 1));
}

TEST(PrometheusRemoteWrite, PushedSamplesAreQueriedBackWithTheirValuesAndTimestamps) {
  ASSERT_TRUE(interop::PeerInstalled(PROMETHEUS_BIN, "prometheus"));
  TempDir dir;
  PrometheusServer prometheus(dir, kNoScrapes, PROMETHEUS_BIN, "127.0.0.1:0", {kReceiverFlag});
  ASSERT_TRUE(prometheus.WaitReady(60s));
  MeshdProcess meshd(dir.File("mesh.db"), {"--remote-write", prometheus.url() + "/api/v1/write"});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  const int64_t t0 = NowMs() - 10'000;
  const std::vector<double> values = {1.5, 2.25, -7, 1e9};
  for (size_t i = 0; i < values.size(); ++i) PushGauge(meshd, "rw_interop_gauge", values[i], t0 + 1000 * int64_t(i));
  std::vector<std::pair<int64_t, std::string>> got;
  ASSERT_TRUE(PollUntil(60s, [&] {
    got = SamplesIn(prometheus.url(), "rw_interop_gauge{service=\"api\",instance=\"i1\",zone=\"eu\"}");
    return got.size() >= values.size();
  })) << "Prometheus has " << got.size() << " samples; meshd: " << meshd.process().err();
  const std::vector<std::pair<int64_t, std::string>> want = {
      {t0, "1.5"}, {t0 + 1000, "2.25"}, {t0 + 2000, "-7"}, {t0 + 3000, "1000000000"}};
  EXPECT_EQ(got, want);
  EXPECT_TRUE(PollUntil(30s, [&] { return MetricValue(meshd, "mesh_export_sent_total{exporter=\"remote_write\",signal=\"metrics\"}") == 4; }));
  EXPECT_EQ(MetricValue(meshd, "mesh_export_queue_samples{exporter=\"remote_write\",signal=\"metrics\"}"), 0);
}

// Prometheus down while samples arrive (and meshd restarted meanwhile), then started: every
// sample arrives, exactly those values.
TEST(PrometheusRemoteWrite, EverySampleArrivesAfterAnOutageAndAMeshdRestart) {
  ASSERT_TRUE(interop::PeerInstalled(PROMETHEUS_BIN, "prometheus"));
  TempDir dir;
  std::string url;
  {
    // Its port, to come back on: meshd is told the URL before Prometheus is up.
    PrometheusServer first(dir, kNoScrapes, PROMETHEUS_BIN, "127.0.0.1:0", {kReceiverFlag});
    ASSERT_TRUE(first.WaitReady(60s));
    url = first.url();
    first.Stop();
  }
  const std::vector<std::string> flags = {"--remote-write", url + "/api/v1/write"};
  const int64_t t0 = NowMs() - 60'000;
  constexpr int kSamples = 40;
  {
    MeshdProcess meshd(dir.File("mesh.db"), flags);
    ASSERT_TRUE(meshd.ready()) << meshd.process().err();
    for (int i = 0; i < kSamples / 2; ++i) PushGauge(meshd, "rw_outage_gauge", i, t0 + 1000 * i);
    ASSERT_TRUE(PollUntil(30s, [&] { return MetricValue(meshd, "mesh_export_failed_total{exporter=\"remote_write\",signal=\"metrics\"}") >= 1; }))
        << "meshd never tried the absent receiver";
    meshd.Stop();
  }
  MeshdProcess meshd(dir.File("mesh.db"), flags);
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  for (int i = kSamples / 2; i < kSamples; ++i) PushGauge(meshd, "rw_outage_gauge", i, t0 + 1000 * i);
  ASSERT_TRUE(PollUntil(30s, [&] {
    return MetricValue(meshd, "mesh_export_queue_samples{exporter=\"remote_write\",signal=\"metrics\"}") == kSamples;
  })) << "the outbox does not hold the samples of both meshd runs";

  TempDir second_dir;
  PrometheusServer prometheus(second_dir, kNoScrapes, PROMETHEUS_BIN, url.substr(url.find("//") + 2), {kReceiverFlag});
  ASSERT_TRUE(prometheus.WaitReady(60s));
  std::vector<std::pair<int64_t, std::string>> got;
  // meshd's backoff is at most 30 s: well within the deadline.
  ASSERT_TRUE(PollUntil(120s, [&] {
    got = SamplesIn(prometheus.url(), "rw_outage_gauge{service=\"api\",instance=\"i1\",zone=\"eu\"}");
    return got.size() >= kSamples;
  })) << "Prometheus has " << got.size() << " of " << kSamples << " samples";
  std::vector<std::pair<int64_t, std::string>> want;
  for (int i = 0; i < kSamples; ++i) want.emplace_back(t0 + 1000 * i, std::to_string(i));
  EXPECT_EQ(got, want);
  EXPECT_TRUE(PollUntil(30s, [&] { return MetricValue(meshd, "mesh_export_queue_samples{exporter=\"remote_write\",signal=\"metrics\"}") == 0; }));
  EXPECT_EQ(MetricValue(meshd, "mesh_export_dropped_total{exporter=\"remote_write\",reason=\"rejected\",signal=\"metrics\"}"), 0);
}

}  // namespace
}  // namespace mesh
