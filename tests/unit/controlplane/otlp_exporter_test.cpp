#include "mesh/controlplane/otlp_exporter.h"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "mesh/http/gzip.h"
#include "mesh/otlp_proto/otlp_proto.h"
#include "mesh/store/otlp_outbox.h"
#include "test_support.h"

namespace mesh {
namespace controlplane_otlp_exporter_test {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1764075600 * kSecond;

// A receiver that answers from a script (a status and body, or a transport error for status 0)
// and keeps what it was sent, inflated.
class ScriptedReceiver : public HttpClient {
 public:
  struct Request {
    std::string url;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  Result<HttpClientResponse> Send(const std::string& method, const std::string& url, const std::string& body,
                                  const std::vector<std::pair<std::string, std::string>>& headers) override {
    EXPECT_EQ(method, "POST");
    Result<std::string> plain = Inflate(body, 64 << 20);
    EXPECT_TRUE(plain.ok()) << "the body is not gzip";
    requests->push_back({url, plain.ok() ? *plain : std::string(), headers});
    HttpClientResponse answer{200, ""};
    if (!script->empty()) {
      answer = script->front();
      script->pop_front();
    }
    if (answer.status == 0) return Status::IOError("connection refused");
    return answer;
  }
  std::shared_ptr<std::deque<HttpClientResponse>> script = std::make_shared<std::deque<HttpClientResponse>>();
  std::shared_ptr<std::vector<Request>> requests = std::make_shared<std::vector<Request>>();
};

Span SpanOf(const std::string& trace_id, int n, SpanStatus status = SpanStatus::kUnset) {
  Span s;
  s.trace_id = trace_id;
  s.span_id = std::string(15, '0') + std::to_string(n);
  s.service = "api";
  s.name = "op" + std::to_string(n);
  s.start_ns = kT0;
  s.duration_ns = 1000;
  s.status = status;
  return s;
}

class OtlpExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> opened = Store::Open({.path = dir_.File("mesh.db")});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    writer_ = std::make_unique<StoreWriter>(std::move(opened).value());
    Result<ExportMetricFamilies> families = ExportMetricFamilies::Register(registry_);
    ASSERT_TRUE(families.ok());
    for (OtlpSignal s : kOtlpSignals) metrics_[static_cast<size_t>(s)] = families->For("otlp", std::string(OtlpSignalName(s)));
  }
  std::unique_ptr<OtlpExporter> Exporter(OtlpExporter::Options options) {
    auto receiver = std::make_unique<ScriptedReceiver>();
    script_ = receiver->script;
    requests_ = receiver->requests;
    if (options.url.empty()) options.url = "http://collector.test:4318/";
    return std::make_unique<OtlpExporter>(options, *writer_, std::move(receiver), clock_, metrics_);
  }
  void Enqueue(const std::vector<OtlpOutboxItem>& items) {
    ASSERT_TRUE(writer_->Submit([&](WriteContext& c) {
                  return OtlpOutbox(c.store).Enqueue(items, clock_.NowNs()).status();
                }).ok());
  }
  void EnqueueSpans(const OtlpExportPolicy& policy, const std::vector<Span>& spans) {
    Enqueue(OtlpSpanItems(policy, spans));
  }
  void EnqueueLogs(int n) {
    std::vector<LogRecord> records(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      records[i].service = "api";
      records[i].ts_ns = kT0;
      records[i].message = "log " + std::to_string(i);
    }
    Enqueue(OtlpLogItems({}, records));
  }
  // The spans every request to /v1/traces carried, by name.
  std::vector<std::string> SpansReceived() const {
    std::vector<std::string> names;
    for (const auto& r : *requests_) {
      if (r.url.find("/v1/traces") == std::string::npos) continue;
      Result<OtlpTraces> decoded = DecodeOtlpTracesProto(r.body);
      EXPECT_TRUE(decoded.ok());
      for (const Span& s : decoded.ok() ? decoded->spans : std::vector<Span>{}) names.push_back(s.name);
    }
    return names;
  }
  ExportMetrics& M(OtlpSignal s) { return metrics_[static_cast<size_t>(s)]; }

  testing::TempDir dir_;
  testing::FakeClock clock_{kT0};
  MetricsRegistry registry_;
  std::array<ExportMetrics, 3> metrics_;
  std::unique_ptr<StoreWriter> writer_;
  std::shared_ptr<std::deque<HttpClientResponse>> script_;
  std::shared_ptr<std::vector<ScriptedReceiver::Request>> requests_;
};

TEST_F(OtlpExporterTest, SendsEachSignalToItsPathAsGzipProtobufWithTheHeaders) {
  auto exporter = Exporter({.headers = {{"X-Scope-OrgID", "team"}}, .settle_ns = 0, .batch_items = 2});
  EnqueueLogs(3);
  EnqueueSpans({}, {SpanOf(std::string(32, 'a'), 1)});
  clock_.Advance(kSecond);
  EXPECT_EQ(exporter->SendOnce(), OtlpExporter::Outcome::kSent);  // the trace settles, then both signals go
  EXPECT_EQ(exporter->SendOnce(), OtlpExporter::Outcome::kSent);  // the third log
  EXPECT_EQ(exporter->SendOnce(), OtlpExporter::Outcome::kIdle);
  ASSERT_EQ(requests_->size(), 3u);
  EXPECT_EQ((*requests_)[0].url, "http://collector.test:4318/v1/traces");
  EXPECT_EQ((*requests_)[1].url, "http://collector.test:4318/v1/logs");
  Result<OtlpLogs> logs = DecodeOtlpLogsProto((*requests_)[1].body);
  ASSERT_TRUE(logs.ok());
  ASSERT_EQ(logs->records.size(), 2u);
  EXPECT_EQ(logs->records[1].message, "log 1");
  const auto& headers = (*requests_)[0].headers;
  for (const std::pair<std::string, std::string>& h :
       {std::pair<std::string, std::string>{"Content-Type", "application/x-protobuf"},
        {"Content-Encoding", "gzip"},
        {"X-Scope-OrgID", "team"}}) {
    EXPECT_NE(std::find(headers.begin(), headers.end(), h), headers.end()) << h.first;
  }
  EXPECT_EQ(M(OtlpSignal::kLogs).sent->Value(), 3);
  EXPECT_EQ(M(OtlpSignal::kTraces).sent->Value(), 1);
  EXPECT_EQ(M(OtlpSignal::kLogs).queue->Value(), 0);
}

TEST_F(OtlpExporterTest, KeepsABatchThroughTransportErrors5xxAnd429AndSendsItOnceWhenTheReceiverIsBack) {
  auto exporter = Exporter({});
  EnqueueLogs(2);
  *script_ = {{0, ""}, {503, "busy"}, {429, ""}, {200, ""}};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(exporter->SendOnce(), OtlpExporter::Outcome::kFailed);
  EXPECT_EQ(M(OtlpSignal::kLogs).failed->Value(), 3);
  EXPECT_EQ(M(OtlpSignal::kLogs).sent->Value(), 0);
  EXPECT_EQ(exporter->SendOnce(), OtlpExporter::Outcome::kSent);
  EXPECT_EQ(exporter->SendOnce(), OtlpExporter::Outcome::kIdle);
  EXPECT_EQ(M(OtlpSignal::kLogs).sent->Value(), 2);
  EXPECT_EQ(requests_->size(), 4u);  // the same batch four times, and nothing after it was taken
}

TEST_F(OtlpExporterTest, DropsAndCountsABatchRefusedWith4xxAndThePartOfAPartialSuccess) {
  std::vector<std::string> reports;
  auto exporter = Exporter({.report = [&](const std::string& m) { reports.push_back(m); }});
  EnqueueLogs(3);
  *script_ = {{400, "bad request"}};
  EXPECT_EQ(exporter->SendOnce(), OtlpExporter::Outcome::kSent);
  EXPECT_EQ(M(OtlpSignal::kLogs).dropped_rejected->Value(), 3);
  EXPECT_EQ(M(OtlpSignal::kLogs).sent->Value(), 0);

  EnqueueLogs(4);
  OtlpLogs refused;
  refused.rejected = 1;
  refused.first_error = "record too large";
  *script_ = {{200, OtlpLogsProtoResponse(refused)}};
  EXPECT_EQ(exporter->SendOnce(), OtlpExporter::Outcome::kSent);
  EXPECT_EQ(M(OtlpSignal::kLogs).dropped_rejected->Value(), 4);
  EXPECT_EQ(M(OtlpSignal::kLogs).sent->Value(), 3);
  EXPECT_EQ(exporter->SendOnce(), OtlpExporter::Outcome::kIdle);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_NE(reports[1].find("record too large"), std::string::npos);
}

TEST_F(OtlpExporterTest, TailSamplingWaitsForTheTraceToSettleThenKeepsErrorsAndDropsTheRestAtRateZero) {
  const OtlpExportPolicy policy{.sample_rate = 0};
  auto exporter = Exporter({.policy = policy, .settle_ns = 10 * kSecond});
  const std::string ok_trace(32, 'a'), error_trace(32, 'b');
  EnqueueSpans(policy, {SpanOf(ok_trace, 1), SpanOf(error_trace, 2)});
  clock_.Advance(5 * kSecond);
  EnqueueSpans(policy, {SpanOf(error_trace, 3, SpanStatus::kError)});
  clock_.Advance(6 * kSecond);  // ok_trace settled (11 s quiet), error_trace not yet (6 s)
  EXPECT_EQ(exporter->SendOnce(), OtlpExporter::Outcome::kIdle);
  EXPECT_EQ(M(OtlpSignal::kTraces).dropped_sampled_out->Value(), 1);
  EXPECT_EQ(M(OtlpSignal::kTraces).queue->Value(), 2);
  clock_.Advance(5 * kSecond);
  EXPECT_EQ(exporter->SendOnce(), OtlpExporter::Outcome::kSent);
  // The whole error trace, its first span (no error of its own) included.
  EXPECT_EQ(SpansReceived(), (std::vector<std::string>{"op2", "op3"}));
  // A late span of the kept trace is kept; one of the dropped trace is not.
  EnqueueSpans(policy, {SpanOf(error_trace, 4), SpanOf(ok_trace, 5)});
  EXPECT_EQ(exporter->SendOnce(), OtlpExporter::Outcome::kSent);
  EXPECT_EQ(SpansReceived(), (std::vector<std::string>{"op2", "op3", "op4"}));
}

TEST_F(OtlpExporterTest, AppliesTheBoundsAndCountsWhatTheyDropPerSignal) {
  auto exporter = Exporter({.max_items = 2, .max_age_ns = 60 * kSecond});
  EnqueueLogs(1);
  clock_.Advance(120 * kSecond);
  EnqueueLogs(3);
  *script_ = {{0, ""}};
  EXPECT_EQ(exporter->SendOnce(), OtlpExporter::Outcome::kFailed);
  EXPECT_EQ(M(OtlpSignal::kLogs).dropped_too_old->Value(), 1);
  EXPECT_EQ(M(OtlpSignal::kLogs).dropped_over_size->Value(), 1);
  EXPECT_EQ(M(OtlpSignal::kLogs).queue->Value(), 2);
  EXPECT_EQ(M(OtlpSignal::kLogs).lag->Value(), 0);
  clock_.Advance(30 * kSecond);
  EXPECT_EQ(exporter->SendOnce(), OtlpExporter::Outcome::kSent);
  EXPECT_EQ(M(OtlpSignal::kLogs).sent->Value(), 2);
}

TEST_F(OtlpExporterTest, ReportsTheStartAndEndOfAnOutageOnce) {
  std::vector<std::string> reports;
  auto exporter = Exporter({.report = [&](const std::string& m) { reports.push_back(m); }});
  EnqueueLogs(1);
  *script_ = {{0, ""}, {500, ""}, {0, ""}, {200, ""}};
  for (int i = 0; i < 4; ++i) exporter->SendOnce();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_NE(reports[0].find("connection refused"), std::string::npos);
  EXPECT_NE(reports[1].find("recovered"), std::string::npos);
}

}  // namespace controlplane_otlp_exporter_test
}  // namespace mesh
