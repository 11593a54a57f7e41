#include "mesh/controlplane/remote_write_exporter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "mesh/otlp_proto/remote_write_proto.h"
#include "mesh/store/remote_write_outbox.h"
#include "test_support.h"

namespace mesh {
namespace controlplane_remote_write_exporter_test {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;

// A receiver that answers from a script (a status, or a transport error for 0) and keeps what
// it was sent.
class ScriptedReceiver : public HttpClient {
 public:
  struct Request {
    std::string url;
    std::vector<MetricSample> samples;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  Result<HttpClientResponse> Send(const std::string& method, const std::string& url, const std::string& body,
                                  const std::vector<std::pair<std::string, std::string>>& headers) override {
    EXPECT_EQ(method, "POST");
    Result<std::vector<MetricSample>> decoded = DecodeRemoteWriteRequest(body);
    EXPECT_TRUE(decoded.ok());
    requests->push_back({url, decoded.ok() ? *decoded : std::vector<MetricSample>{}, headers});
    int status = 200;
    if (!script->empty()) {
      status = script->front();
      script->pop_front();
    }
    if (status == 0) return Status::IOError("connection refused");
    return HttpClientResponse{status, "answer " + std::to_string(status)};
  }
  std::shared_ptr<std::deque<int>> script = std::make_shared<std::deque<int>>();
  std::shared_ptr<std::vector<Request>> requests = std::make_shared<std::vector<Request>>();
};

class RemoteWriteExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> opened = Store::Open({.path = dir_.File("mesh.db")});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    writer_ = std::make_unique<StoreWriter>(std::move(opened).value());
    Result<ExportMetricFamilies> families = ExportMetricFamilies::Register(registry_);
    ASSERT_TRUE(families.ok());
    metrics_ = families->For("remote_write", "metrics");
  }
  std::unique_ptr<RemoteWriteExporter> Exporter(RemoteWriteExporter::Options options) {
    auto receiver = std::make_unique<ScriptedReceiver>();
    script_ = receiver->script;
    requests_ = receiver->requests;
    if (options.url.empty()) options.url = "http://receiver.test/api/v1/write";
    return std::make_unique<RemoteWriteExporter>(options, *writer_, std::move(receiver), clock_, metrics_);
  }
  // n samples of gauge g, values first.. first+n-1, at `at`.
  void Push(int n, int first = 0, int64_t at = kT0) {
    MetricFamily f{"g", "", MetricType::kGauge, {}};
    for (int k = first; k < first + n; ++k) {
      f.samples.push_back({"g", {{"service", "api"}}, double(k), (at / 1'000'000) + k});
    }
    ASSERT_TRUE(writer_->Submit([&](WriteContext& c) { return RemoteWriteOutbox(c.store).Enqueue({f}, at).status(); })
                    .ok());
  }
  std::vector<double> Received() const {
    std::vector<double> values;
    for (const auto& r : *requests_) {
      for (const MetricSample& s : r.samples) values.push_back(s.value);
    }
    return values;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{kT0};
  MetricsRegistry registry_;
  RemoteWriteExporter::Metrics metrics_;
  std::unique_ptr<StoreWriter> writer_;
  std::shared_ptr<std::deque<int>> script_;
  std::shared_ptr<std::vector<ScriptedReceiver::Request>> requests_;
};

TEST_F(RemoteWriteExporterTest, SendsInBatchesOldestFirstWithTheHeaders) {
  auto exporter = Exporter({.headers = {{"X-Scope-OrgID", "team"}}, .batch_samples = 3});
  Push(5);
  EXPECT_EQ(exporter->SendOnce(), RemoteWriteExporter::Outcome::kSent);
  EXPECT_EQ(exporter->SendOnce(), RemoteWriteExporter::Outcome::kSent);
  EXPECT_EQ(exporter->SendOnce(), RemoteWriteExporter::Outcome::kIdle);
  ASSERT_EQ(requests_->size(), 2u);
  EXPECT_EQ(Received(), (std::vector<double>{0, 1, 2, 3, 4}));
  const auto& headers = requests_->front().headers;
  EXPECT_NE(std::find(headers.begin(), headers.end(), std::pair<std::string, std::string>{"X-Scope-OrgID", "team"}),
            headers.end());
  EXPECT_NE(std::find(headers.begin(), headers.end(),
                      std::pair<std::string, std::string>{"Content-Encoding", "snappy"}),
            headers.end());
  EXPECT_EQ(metrics_.sent->Value(), 5);
  EXPECT_EQ(metrics_.queue->Value(), 0);
}

TEST_F(RemoteWriteExporterTest, KeepsTheBatchAndRetriesAfter5xx429AndTransportErrors) {
  auto exporter = Exporter({});
  Push(2);
  *script_ = {503, 429, 0, 200};
  EXPECT_EQ(exporter->SendOnce(), RemoteWriteExporter::Outcome::kFailed);
  EXPECT_EQ(exporter->SendOnce(), RemoteWriteExporter::Outcome::kFailed);
  EXPECT_EQ(exporter->SendOnce(), RemoteWriteExporter::Outcome::kFailed);
  EXPECT_EQ(metrics_.queue->Value(), 2);
  EXPECT_EQ(exporter->SendOnce(), RemoteWriteExporter::Outcome::kSent);
  EXPECT_EQ(metrics_.failed->Value(), 3);
  EXPECT_EQ(metrics_.sent->Value(), 2);
  EXPECT_EQ(metrics_.dropped_rejected->Value(), 0);
  // The same two samples each time.
  ASSERT_EQ(requests_->size(), 4u);
  for (const auto& r : *requests_) EXPECT_EQ(r.samples.size(), 2u);
  EXPECT_EQ(exporter->SendOnce(), RemoteWriteExporter::Outcome::kIdle);
}

TEST_F(RemoteWriteExporterTest, DropsAndCountsABatchRefusedWith4xx) {
  auto exporter = Exporter({.batch_samples = 2});
  Push(3);
  *script_ = {400};
  EXPECT_EQ(exporter->SendOnce(), RemoteWriteExporter::Outcome::kRejected);
  EXPECT_EQ(metrics_.dropped_rejected->Value(), 2);
  EXPECT_EQ(exporter->SendOnce(), RemoteWriteExporter::Outcome::kSent);
  EXPECT_EQ(metrics_.sent->Value(), 1);
  EXPECT_EQ(Received(), (std::vector<double>{0, 1, 2}));
}

TEST_F(RemoteWriteExporterTest, AppliesTheSizeAndAgeBoundsAndReportsTheLag) {
  auto exporter = Exporter({.max_samples = 1000, .max_age_ns = 3600 * kSecond});
  Push(4, 0, kT0);
  Push(1000, 4, kT0 + 1800 * kSecond);
  clock_.Set(kT0 + 3700 * kSecond);  // the first four are over an hour old
  *script_ = {503};
  EXPECT_EQ(exporter->SendOnce(), RemoteWriteExporter::Outcome::kFailed);
  EXPECT_EQ(metrics_.dropped_too_old->Value(), 4);
  EXPECT_EQ(metrics_.dropped_over_size->Value(), 0);
  EXPECT_EQ(metrics_.queue->Value(), 1000);
  EXPECT_DOUBLE_EQ(metrics_.lag->Value(), 1900);
  Push(10, 1004, kT0 + 3700 * kSecond);
  EXPECT_EQ(exporter->SendOnce(), RemoteWriteExporter::Outcome::kSent);
  EXPECT_EQ(metrics_.dropped_over_size->Value(), 10);
  EXPECT_EQ(requests_->back().samples.front().value, 14);  // the oldest ten of the 1,010 went
}

TEST_F(RemoteWriteExporterTest, IdleWithAnEmptyOutboxSendsNothing) {
  auto exporter = Exporter({});
  EXPECT_EQ(exporter->SendOnce(), RemoteWriteExporter::Outcome::kIdle);
  EXPECT_TRUE(requests_->empty());
  EXPECT_EQ(metrics_.lag->Value(), 0);
}

// The failure is told once, its recovery once: a receiver down for an hour is not a log line
// per retry.
TEST_F(RemoteWriteExporterTest, ReportsTheStartAndEndOfAnOutageOnce) {
  std::vector<std::string> reports;
  auto exporter = Exporter({.report = [&](const std::string& m) { reports.push_back(m); }});
  Push(1);
  *script_ = {0, 0, 0, 200};
  for (int i = 0; i < 4; ++i) exporter->SendOnce();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_NE(reports[0].find("connection refused"), std::string::npos);
  EXPECT_NE(reports[1].find("recovered"), std::string::npos);
}

TEST_F(RemoteWriteExporterTest, RegisteringTheMetricsTwiceFails) {
  EXPECT_FALSE(ExportMetricFamilies::Register(registry_).ok());
}

}  // namespace controlplane_remote_write_exporter_test
}  // namespace mesh
