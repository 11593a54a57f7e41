// Report: the model's JSON codec and renderers on hand-built reports, without a store (the
// store-built report's exact outputs are checked in store/report_queries_test.cpp).
#include "mesh/telemetry/report.h"

#include <gtest/gtest.h>

#include <string>

namespace mesh {
namespace telemetry_report_test {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1795608000 * kSecond;  // 2026-11-25T12:00:00Z
constexpr int64_t kSince = kT0 - 900 * kSecond;

Report TwoServices() {
  Report r;
  r.since_ns = kSince;
  r.until_ns = kT0;
  ServiceReport api;
  api.service = "api";
  api.has_metrics = true;
  api.signals.requests = 90;
  api.signals.requests_per_second = 0.1;
  api.signals.error_percent = 1.0 / 3;
  api.signals.p50_seconds = 0.0125;
  api.signals.p99_seconds = 1e-9;  // p95 stays unknown: null in the JSON
  api.max_in_flight = 3;
  api.spans = 4;
  api.error_logs = 2;
  api.slowest.push_back({"GET /a", 4, 1, 1'000'000, 2'000'000, 3'000'000});
  api.top_errors.push_back({"boom \"x\"", 2, kT0 - kSecond});
  ServiceReport batch;  // known from spans only
  batch.service = "batch";
  batch.spans = 1;
  r.services = {api, batch};
  return r;
}

TEST(ReportJson, EncodesTheDocumentedShape) {
  Report r;
  r.since_ns = kSince;
  r.until_ns = kT0;
  ServiceReport s;
  s.service = "batch";
  s.spans = 1;
  s.slowest.push_back({"job", 1, 0, 5, 6, 7});
  r.services.push_back(s);
  EXPECT_EQ(EncodeReportJson(r),
            "{\"since\":\"2026-11-25T11:45:00.000Z\",\"until\":\"2026-11-25T12:00:00.000Z\","
            "\"since_ns\":1795607100000000000,\"until_ns\":1795608000000000000,"
            "\"window_seconds\":900.0,\"services\":[{\"service\":\"batch\",\"metrics\":false,"
            "\"requests\":0,\"requests_per_second\":0.0,\"error_percent\":0.0,"
            "\"p50_seconds\":null,\"p95_seconds\":null,\"p99_seconds\":null,"
            "\"max_in_flight\":null,\"spans\":1,\"error_logs\":0,\"slowest_operations\":"
            "[{\"operation\":\"job\",\"count\":1,\"errors\":0,\"p50_ns\":5,\"p95_ns\":6,"
            "\"p99_ns\":7}],\"top_errors\":[]}]}");
}

TEST(ReportJson, DecodeGivesBackEveryFieldExactly) {
  const Report original = TwoServices();
  Result<Report> decoded = DecodeReportJson(EncodeReportJson(original));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->since_ns, original.since_ns);
  EXPECT_EQ(decoded->until_ns, original.until_ns);
  ASSERT_EQ(decoded->services.size(), 2u);
  const ServiceReport& api = decoded->services[0];
  EXPECT_EQ(api.service, "api");
  EXPECT_TRUE(api.has_metrics);
  EXPECT_EQ(api.signals.requests, 90);
  EXPECT_EQ(api.signals.requests_per_second, 0.1);
  EXPECT_EQ(api.signals.error_percent, 1.0 / 3);  // shortest round-trip form, no rounding
  EXPECT_EQ(api.signals.p50_seconds, 0.0125);
  EXPECT_FALSE(api.signals.p95_seconds.has_value());
  EXPECT_EQ(api.signals.p99_seconds, 1e-9);
  EXPECT_EQ(api.max_in_flight, 3.0);
  EXPECT_EQ(api.spans, 4);
  EXPECT_EQ(api.error_logs, 2);
  ASSERT_EQ(api.slowest.size(), 1u);
  EXPECT_EQ(api.slowest[0].operation, "GET /a");
  EXPECT_EQ(api.slowest[0].errors, 1);
  EXPECT_EQ(api.slowest[0].p99_ns, 3'000'000);
  ASSERT_EQ(api.top_errors.size(), 1u);
  EXPECT_EQ(api.top_errors[0].message, "boom \"x\"");
  EXPECT_EQ(api.top_errors[0].last_ns, kT0 - kSecond);
  const ServiceReport& batch = decoded->services[1];
  EXPECT_FALSE(batch.has_metrics);
  EXPECT_FALSE(batch.max_in_flight.has_value());
  EXPECT_EQ(EncodeReportJson(*decoded), EncodeReportJson(original));
}

TEST(ReportJson, DecodeNamesWhatIsWrong) {
  Result<Report> wrong_type = DecodeReportJson(
      R"({"since_ns":1,"until_ns":2,"services":[{"service":"a","metrics":"yes"}]})");
  EXPECT_EQ(wrong_type.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(wrong_type.status().message().find("service a lacks metrics"), std::string::npos)
      << wrong_type.status().message();
  EXPECT_NE(DecodeReportJson(R"({"until_ns":2,"services":[]})")
                .status()
                .message()
                .find("no since_ns/until_ns"),
            std::string::npos);
}

TEST(ReportRender, UntrustedTextCannotBreakTheTableOrTheMarkdown) {
  Report r;
  r.since_ns = kSince;
  r.until_ns = kT0;
  ServiceReport s;
  s.service = "evil\n\x1b[31m";
  s.top_errors.push_back({"line\nbreak | pipe", 1, kT0});
  r.services.push_back(s);
  const std::string table = RenderReportTable(r);
  EXPECT_EQ(table.find('\x1b'), std::string::npos);
  EXPECT_NE(table.find("evil\\n\\x1b[31m"), std::string::npos) << table;
  const std::string md = RenderReportMarkdown(r);
  EXPECT_NE(md.find("line\\nbreak \\| pipe"), std::string::npos) << md;
}

TEST(ReportRender, NoHumanFormatLetsATerminalControlThrough) {
  Report r;
  r.since_ns = kSince;
  r.until_ns = kT0;
  ServiceReport s;
  s.service = "pay\xE2\x80\xAEmoc\xC2\x9B" "2J";
  s.slowest.push_back({"GET /\x1b]52;c;eA==\x07", 1, 0, 1, 1, 1});
  s.top_errors.push_back({"boom\x1b]0;title\x07\r", 1, kT0});
  r.services.push_back(s);
  for (const std::string& out : {RenderReportTable(r), RenderReportMarkdown(r), RenderSignalsTable(r)}) {
    EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
    EXPECT_EQ(out.find('\r'), std::string::npos) << out;
    EXPECT_EQ(out.find("\xE2\x80\xAE"), std::string::npos) << out;
    EXPECT_EQ(out.find("\xC2\x9B"), std::string::npos) << out;
    EXPECT_NE(out.find("pay\\u202emoc\\u009b2J"), std::string::npos) << out;
  }
  // CSV keeps the data exact, quoted.
  EXPECT_NE(RenderReportCsv(r, false).find(",\"pay\xE2\x80\xAEmoc\xC2\x9B" "2J\","), std::string::npos)
      << RenderReportCsv(r, false);
}


TEST(ReportRender, ServicesWithoutMetricsShowDashesAndEmptyCsvCells) {
  const Report r = TwoServices();
  EXPECT_NE(RenderSignalsTable(r).find("batch    -     -         -        -"), std::string::npos)
      << RenderSignalsTable(r);
  EXPECT_NE(RenderReportCsv(r, false).find("2026-11-25T12:00:00.000Z,900,service,batch,,,,,,,,\n"),
            std::string::npos)
      << RenderReportCsv(r, false);
}

}  // namespace
}  // namespace mesh
