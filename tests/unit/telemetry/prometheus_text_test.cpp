#include "mesh/telemetry/prometheus_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "test_support.h"

namespace mesh {
namespace telemetry_prometheus_text_test {

using ::testing::HasSubstr;

// What a Prometheus client library exposes: comments, HELP and TYPE, labels, a histogram.
const std::string kExposition =
    "# A comment that is not HELP or TYPE.\n"
    "# HELP http_requests_total Requests served.\n"
    "# TYPE http_requests_total counter\n"
    "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
    "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
    "\n"
    "# TYPE temperature gauge\n"
    "temperature -3.5\n"
    "# HELP request_seconds Latency.\n"
    "# TYPE request_seconds histogram\n"
    "request_seconds_bucket{le=\"0.05\"} 24054\n"
    "request_seconds_bucket{le=\"0.1\"} 33444\n"
    "request_seconds_bucket{le=\"+Inf\"} 144320\n"
    "request_seconds_sum 53423\n"
    "request_seconds_count 144320\n"
    "untyped_thing{a=\"b\"} 1e3\n";

Result<std::vector<MetricFamily>> Parse(const std::string& text) {
  return ParsePrometheusText(text);
}

TEST(ParsePrometheusText, ReadsFamiliesWithTypeHelpAndSamples) {
  Result<std::vector<MetricFamily>> r = Parse(kExposition);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 4u);
  const MetricFamily& requests = (*r)[0];
  EXPECT_EQ(requests.name, "http_requests_total");
  EXPECT_EQ(requests.help, "Requests served.");
  EXPECT_EQ(requests.type, MetricType::kCounter);
  ASSERT_EQ(requests.samples.size(), 2u);
  EXPECT_EQ(requests.samples[0].name, "http_requests_total");
  // Labels come back sorted by name.
  EXPECT_EQ(requests.samples[0].labels, (Labels{{"code", "200"}, {"method", "post"}}));
  EXPECT_EQ(requests.samples[0].value, 1027);
  EXPECT_EQ(requests.samples[0].timestamp_ms, 1395066363000);
  EXPECT_EQ(requests.samples[1].value, 3);

  const MetricFamily& temperature = (*r)[1];
  EXPECT_EQ(temperature.type, MetricType::kGauge);
  EXPECT_EQ(temperature.help, "");
  EXPECT_EQ(temperature.samples[0].value, -3.5);
  EXPECT_TRUE(temperature.samples[0].labels.empty());
  EXPECT_FALSE(temperature.samples[0].timestamp_ms.has_value());

  const MetricFamily& untyped = (*r)[3];
  EXPECT_EQ(untyped.name, "untyped_thing");
  EXPECT_EQ(untyped.type, MetricType::kUntyped);
  EXPECT_EQ(untyped.samples[0].value, 1000);
}

TEST(ParsePrometheusText, GroupsHistogramSeriesIntoTheirFamily) {
  Result<std::vector<MetricFamily>> r = Parse(kExposition);
  ASSERT_TRUE(r.ok());
  const MetricFamily& h = (*r)[2];
  EXPECT_EQ(h.name, "request_seconds");
  EXPECT_EQ(h.type, MetricType::kHistogram);
  EXPECT_EQ(h.help, "Latency.");
  ASSERT_EQ(h.samples.size(), 5u);
  EXPECT_EQ(h.samples[0].name, "request_seconds_bucket");
  EXPECT_EQ(LabelValue(h.samples[0].labels, "le"), "0.05");
  EXPECT_EQ(LabelValue(h.samples[2].labels, "le"), "+Inf");
  EXPECT_EQ(h.samples[3].name, "request_seconds_sum");
  EXPECT_EQ(h.samples[4].name, "request_seconds_count");
  EXPECT_EQ(h.samples[4].value, 144320);
}

TEST(ParsePrometheusText, SuffixedNamesWithoutAHistogramTypeAreTheirOwnFamily) {
  Result<std::vector<MetricFamily>> r = Parse("# TYPE jobs_count gauge\njobs_count 3\nx_sum 1\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].name, "jobs_count");
  EXPECT_EQ((*r)[0].type, MetricType::kGauge);
  EXPECT_EQ((*r)[1].name, "x_sum");
  EXPECT_EQ((*r)[1].type, MetricType::kUntyped);
}

TEST(ParsePrometheusText, SummarySeriesGroupToo) {
  Result<std::vector<MetricFamily>> r =
      Parse("# TYPE rpc summary\nrpc{quantile=\"0.5\"} 0.2\nrpc_sum 10\nrpc_count 40\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].type, MetricType::kSummary);
  EXPECT_EQ((*r)[0].samples.size(), 3u);
}

TEST(ParsePrometheusText, DecodesLabelValueEscapes) {
  Result<std::vector<MetricFamily>> r =
      Parse(R"(x{path="/a\"b",msg="one\ntwo",dir="c:\\tmp",empty=""} 1)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Labels& labels = (*r)[0].samples[0].labels;
  EXPECT_EQ(LabelValue(labels, "path"), "/a\"b");
  EXPECT_EQ(LabelValue(labels, "msg"), "one\ntwo");
  EXPECT_EQ(LabelValue(labels, "dir"), "c:\\tmp");
  EXPECT_EQ(LabelValue(labels, "empty"), "");
  EXPECT_EQ(LabelValue(labels, "absent"), "");
  EXPECT_EQ(labels.size(), 3u) << "an empty value is no label";
}

TEST(ParsePrometheusText, AcceptsSpacingTrailingCommaAndUtf8InLabels) {
  Result<std::vector<MetricFamily>> r = Parse("  x { a = \"1\" , b=\"caf\xc3\xa9\", } \t 2 \r\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].samples[0].labels, (Labels{{"a", "1"}, {"b", "caf\xc3\xa9"}}));
  EXPECT_EQ((*r)[0].samples[0].value, 2);
}

TEST(ParsePrometheusText, ReadsNaNAndInfinities) {
  Result<std::vector<MetricFamily>> r = Parse("a NaN\nb +Inf\nc -Inf\nd Inf\ne 1.5e-3\nf -0\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 6u);
  EXPECT_TRUE(std::isnan((*r)[0].samples[0].value));
  EXPECT_EQ((*r)[1].samples[0].value, INFINITY);
  EXPECT_EQ((*r)[2].samples[0].value, -INFINITY);
  EXPECT_EQ((*r)[3].samples[0].value, INFINITY);
  EXPECT_DOUBLE_EQ((*r)[4].samples[0].value, 0.0015);
  EXPECT_EQ((*r)[5].samples[0].value, 0);
}

TEST(ParsePrometheusText, ReadsTimestamps) {
  Result<std::vector<MetricFamily>> r = Parse("a 1 1764075600000\nb 2 -5\nc 3\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].samples[0].timestamp_ms, 1764075600000);
  EXPECT_EQ((*r)[1].samples[0].timestamp_ms, -5);
  EXPECT_FALSE((*r)[2].samples[0].timestamp_ms.has_value());
}

TEST(ParsePrometheusText, EmptyTextHasNoFamilies) {
  for (const char* text : {"", "\n\n", "# just a comment\n", "   \n\t\n"}) {
    Result<std::vector<MetricFamily>> r = Parse(text);
    ASSERT_TRUE(r.ok()) << text;
    EXPECT_TRUE(r->empty()) << text;
  }
}

TEST(ParsePrometheusText, ErrorsNameTheLineAndWhatIsWrong) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"ok 1\n\n1bad 2\n", "line 3: invalid metric name"},
      {"{a=\"b\"} 1\n", "line 1: invalid metric name"},
      {"ok 1\nx{1a=\"b\"} 1\n", "line 2: invalid label name"},
      {"x{a-b=\"c\"} 1\n", "line 1: expected '=' after label a"},
      {"x{=\"c\"} 1\n", "line 1: invalid label name"},
      {"x{a=b} 1\n", "line 1: expected a quoted value for label a"},
      {"x{a=\"b} 1\n", "line 1: unterminated value of label a"},
      {"x{a=\"b\\\"} 1\n", "line 1: unterminated value of label a"},
      {"x{a=\"\\q\"} 1\n", "line 1: invalid escape in the value of label a"},
      {"x{a=\"1\",a=\"2\"} 1\n", "line 1: duplicate label a"},
      {"x{a=\"1\" b=\"2\"} 1\n", "line 1: expected ',' or '}' in labels"},
      {"# TYPE x counter\n# TYPE x gauge\nx 1\n", "line 2: second TYPE for x"},
      {"# TYPE x countr\n", "line 1: unknown type 'countr'"},
      {"# TYPE x\n", "line 1: unknown type ''"},
      {"# TYPE 9x counter\n", "line 1: invalid metric name in TYPE"},
      {"# HELP 9x text\n", "line 1: invalid metric name in HELP"},
      {"x abc\n", "line 1: invalid value 'abc'"},
      {"x 1.5.5\n", "line 1: invalid value '1.5.5'"},
      {"x nan\n", "line 1: invalid value 'nan'"},
      {"x 1e999\n", "line 1: invalid value '1e999'"},
      {"x\n", "line 1: missing value"},
      {"x{a=\"b\"}\n", "line 1: missing value"},
      {"x 1 12.5\n", "line 1: invalid timestamp"},
      {"x 1 2 3\n", "line 1: unexpected text after the timestamp"},
  };
  for (const Case& c : cases) {
    Result<std::vector<MetricFamily>> r = Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << c.text;
    EXPECT_THAT(r.status().message(), HasSubstr(c.message)) << c.text;
  }
}

// Found by fuzz/prometheus_text_fuzzer: "h" was grouped untyped before its TYPE line, then
// h_bucket joined that untyped family, which formatted and parsed again as two families.
TEST(ParsePrometheusText, RejectsATypeAfterTheFamilysSamples) {
  Result<std::vector<MetricFamily>> r = Parse("h 1\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\n");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("line 2: TYPE for h after its samples"));
  // A TYPE before a family's samples, or for a name with none, is still fine.
  EXPECT_TRUE(Parse("h_bucket 1\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\n").ok());
  EXPECT_TRUE(Parse("x 1\n# TYPE y gauge\ny 2\n").ok());
}

TEST(ParsePrometheusText, LineNumbersCountBlankAndCrlfLines) {
  Result<std::vector<MetricFamily>> r = Parse("a 1\r\n\r\n# c\r\nb x\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("line 4:"));
}

TEST(ParsePrometheusText, EveryTruncationAndGarbageNeverCrashes) {
  for (size_t len = 0; len <= kExposition.size(); ++len) {
    Result<std::vector<MetricFamily>> r = Parse(kExposition.substr(0, len));
    if (r.ok()) {
      for (const MetricFamily& f : *r) EXPECT_TRUE(IsValidMetricName(f.name)) << len;
    }
  }
  testing::Garbage garbage(5, "{}=\",# \n\\abcxyz_:0123456789.+-eEInfNa");
  for (int i = 0; i < 5000; ++i) Parse(garbage.Next(60));
}

TEST(FormatPrometheusText, WritesHelpTypeThenSamples) {
  MetricFamily f;
  f.name = "jobs_total";
  f.help = "Jobs done.";
  f.type = MetricType::kCounter;
  f.samples.push_back({"jobs_total", {{"queue", "a"}, {"result", "ok"}}, 3, {}});
  f.samples.push_back({"jobs_total", {}, 0.5, 1764075600000});
  EXPECT_EQ(FormatPrometheusText({f}),
            "# HELP jobs_total Jobs done.\n"
            "# TYPE jobs_total counter\n"
            "jobs_total{queue=\"a\",result=\"ok\"} 3\n"
            "jobs_total 0.5 1764075600000\n");
}

TEST(FormatPrometheusText, LeavesOutEmptyHelpButAlwaysWritesType) {
  MetricFamily f{"up", "", MetricType::kGauge, {{"up", {}, 1, {}}}};
  EXPECT_EQ(FormatPrometheusText({f}), "# TYPE up gauge\nup 1\n");
  MetricFamily u{"thing", "", MetricType::kUntyped, {}};
  EXPECT_EQ(FormatPrometheusText({u}), "# TYPE thing untyped\n");
  EXPECT_EQ(FormatPrometheusText({}), "");
}

TEST(FormatPrometheusText, EscapesHelpAndLabelValues) {
  MetricFamily f;
  f.name = "x";
  f.help = "a \\ b\nc \"q\"";
  f.type = MetricType::kGauge;
  f.samples.push_back({"x", {{"v", "q\"b\\s\nn"}}, 1, {}});
  // HELP escapes backslash and newline only; label values also escape the quote.
  EXPECT_EQ(FormatPrometheusText({f}),
            "# HELP x a \\\\ b\\nc \"q\"\n"
            "# TYPE x gauge\n"
            "x{v=\"q\\\"b\\\\s\\nn\"} 1\n");
}

TEST(FormatPrometheusText, WritesSpecialValues) {
  MetricFamily f{"x", "", MetricType::kGauge, {}};
  f.samples.push_back({"x", {{"k", "nan"}}, std::nan(""), {}});
  f.samples.push_back({"x", {{"k", "inf"}}, INFINITY, {}});
  f.samples.push_back({"x", {{"k", "-inf"}}, -INFINITY, {}});
  EXPECT_EQ(FormatPrometheusText({f}),
            "# TYPE x gauge\nx{k=\"nan\"} NaN\nx{k=\"inf\"} +Inf\nx{k=\"-inf\"} -Inf\n");
}

TEST(FormatPrometheusText, OutputParsesBackToTheSameFamilies) {
  MetricFamily h{"latency_seconds", "Request latency.", MetricType::kHistogram, {}};
  for (const auto& [le, count] :
       std::vector<std::pair<std::string, double>>{{"0.1", 2}, {"1", 5}, {"+Inf", 6}}) {
    h.samples.push_back({"latency_seconds_bucket", {{"le", le}, {"path", "/a\"b"}}, count, {}});
  }
  h.samples.push_back({"latency_seconds_sum", {{"path", "/a\"b"}}, 3.25, {}});
  h.samples.push_back({"latency_seconds_count", {{"path", "/a\"b"}}, 6, {}});
  MetricFamily g{"queue_depth", "", MetricType::kGauge, {{"queue_depth", {}, -2, 1764075600000}}};
  Result<std::vector<MetricFamily>> r = ParsePrometheusText(FormatPrometheusText({h, g}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  const MetricFamily& back = (*r)[0];
  EXPECT_EQ(back.name, h.name);
  EXPECT_EQ(back.help, h.help);
  EXPECT_EQ(back.type, MetricType::kHistogram);
  ASSERT_EQ(back.samples.size(), h.samples.size());
  for (size_t i = 0; i < h.samples.size(); ++i) {
    EXPECT_EQ(back.samples[i].name, h.samples[i].name);
    EXPECT_EQ(back.samples[i].labels, h.samples[i].labels);
    EXPECT_EQ(back.samples[i].value, h.samples[i].value);
  }
  EXPECT_EQ((*r)[1].samples[0].value, -2);
  EXPECT_EQ((*r)[1].samples[0].timestamp_ms, 1764075600000);
}

TEST(ParsePrometheusText, DecodesHelpEscapes) {
  // Backslash and newline are escaped in HELP; a quote is not, and "\\n" is a backslash + 'n'.
  Result<std::vector<MetricFamily>> r =
      Parse(R"(# HELP x Path c:\\tmp.\nLine "two", \\n kept.)" "\nx 1\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].help, "Path c:\\tmp.\nLine \"two\", \\n kept.");
}

TEST(FormatPrometheusText, HelpRoundTripsThroughTheParser) {
  for (const std::string help : {"plain", "back\\slash", "two\nlines", "\\n", "trailing \\",
                                 "caf\xc3\xa9 \"q\""}) {
    MetricFamily f{"x", help, MetricType::kGauge, {{"x", {}, 1, {}}}};
    Result<std::vector<MetricFamily>> r = ParsePrometheusText(FormatPrometheusText({f}));
    ASSERT_TRUE(r.ok()) << help;
    EXPECT_EQ((*r)[0].help, help);
    // Parsed and formatted again, the text is stable (no escaping that grows on every pass).
    EXPECT_EQ(FormatPrometheusText(*r), FormatPrometheusText({f}));
  }
}

TEST(CheckHistograms, AcceptsCompleteHistogramsAndOtherTypes) {
  EXPECT_TRUE(CheckHistograms(*Parse(kExposition)).ok());
  EXPECT_TRUE(CheckHistograms({}).ok());
}

TEST(CheckHistograms, RefusesASeriesWithoutAnInfBucket) {
  Result<std::vector<MetricFamily>> r = Parse(
      "# TYPE h histogram\nh_bucket{a=\"1\",le=\"0.1\"} 1\nh_bucket{a=\"1\",le=\"+Inf\"} 2\n"
      "h_bucket{a=\"2\",le=\"0.1\"} 1\nh_count{a=\"2\"} 1\n");
  ASSERT_TRUE(r.ok());
  const Status s = CheckHistograms(*r);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("histogram h{a=\"2\"} has no le=\"+Inf\" bucket"));
}

TEST(CheckHistograms, RefusesAnInfBucketThatDiffersFromCount) {
  Result<std::vector<MetricFamily>> r =
      Parse("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 5\nh_sum 1\nh_count 4\n");
  ASSERT_TRUE(r.ok());
  const Status s = CheckHistograms(*r);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("le=\"+Inf\" bucket 5 differs from _count 4"));
}

TEST(FormatMetricValue, WritesPrometheusSpellings) {
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatMetricValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatMetricValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(1), "1");
  EXPECT_EQ(FormatMetricValue(-2.5), "-2.5");
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");  // shortest round trip, not 0.1000000000000000055
  EXPECT_EQ(FormatMetricValue(1e21), "1e+21");
  EXPECT_EQ(FormatMetricValue(144320), "144320");
}

TEST(FormatMetricValue, RoundTripsThroughTheParser) {
  for (double v : {0.1, 1.0 / 3, 1e-300, 123456789.125, -0.0025, 9007199254740993.0}) {
    Result<std::vector<MetricFamily>> r = ParsePrometheusText("x " + FormatMetricValue(v) + "\n");
    ASSERT_TRUE(r.ok()) << v;
    EXPECT_EQ((*r)[0].samples[0].value, v);
  }
}

TEST(LabelsText, IsCanonicalEscapedText) {
  EXPECT_EQ(LabelsText({}), "{}");
  EXPECT_EQ(LabelsText({{"a", "1"}, {"b", "x\"y"}}), R"({a="1",b="x\"y"})");
  EXPECT_EQ(LabelsText({{"p", "c:\\d\ne"}}), R"({p="c:\\d\ne"})");
}

TEST(ParseLabelsText, RoundTripsLabelsText) {
  const std::vector<Labels> sets = {
      {},
      {{"a", "1"}},
      {{"code", "500"}, {"service", "api"}},
      {{"a", "x\"y"},
       {"b", "back\\slash"},
       {"c", "new\nline"},
       {"e", "caf\xc3\xa9 }{,="}},
  };
  for (const Labels& labels : sets) {
    Result<Labels> back = ParseLabelsText(LabelsText(labels));
    ASSERT_TRUE(back.ok()) << LabelsText(labels) << ": " << back.status().message();
    EXPECT_EQ(*back, labels) << LabelsText(labels);
  }
}

TEST(ParseLabelsText, RejectsMalformedText) {
  for (const char* text :
       {R"({a=1})", R"({a="1")", R"({1a="x"})", R"({a="1",a="2"})", R"({a="1"} x)", R"(a="1")"}) {
    EXPECT_FALSE(ParseLabelsText(text).ok()) << text;
  }
}

TEST(MetricNames, FollowThePrometheusGrammar) {
  EXPECT_TRUE(IsValidMetricName("http_requests_total"));
  EXPECT_TRUE(IsValidMetricName("job:rate5m"));
  EXPECT_TRUE(IsValidMetricName("_private"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("1x"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_FALSE(IsValidMetricName("a b"));
  EXPECT_FALSE(IsValidMetricName("caf\xc3\xa9"));
  EXPECT_TRUE(IsValidLabelName("code"));
  EXPECT_TRUE(IsValidLabelName("_x9"));
  EXPECT_FALSE(IsValidLabelName("a:b"));  // colons are for metric names only
  EXPECT_FALSE(IsValidLabelName("9a"));
  EXPECT_FALSE(IsValidLabelName(""));
}

TEST(MetricTypeName, NamesEveryType) {
  EXPECT_EQ(MetricTypeName(MetricType::kCounter), "counter");
  EXPECT_EQ(MetricTypeName(MetricType::kGauge), "gauge");
  EXPECT_EQ(MetricTypeName(MetricType::kHistogram), "histogram");
  EXPECT_EQ(MetricTypeName(MetricType::kSummary), "summary");
  EXPECT_EQ(MetricTypeName(MetricType::kUntyped), "untyped");
}

}  // namespace
}  // namespace mesh

namespace mesh {
namespace telemetry_prometheus_text_test {

TEST(ParsePrometheusText, RejectsTimestampsThatOverflowNanoseconds) {
  EXPECT_FALSE(ParsePrometheusText("x 1 9223372036854775807\n").ok());
  EXPECT_FALSE(ParsePrometheusText("x 1 -9223372036854775807\n").ok());
  Result<std::vector<MetricFamily>> fine = ParsePrometheusText("x 1 1764075600000\n");
  ASSERT_TRUE(fine.ok());
  EXPECT_EQ(*fine->front().samples.front().timestamp_ms, 1764075600000);
}

TEST(FormatOpenMetricsText, NamesCounterFamiliesWithoutTotalAndEndsWithEof) {
  const std::vector<MetricFamily> families = {
      {"requests_total", "Requests \"served\"", MetricType::kCounter, {{"requests_total", {{"code", "200"}}, 3, {}}}},
      {"hits", "", MetricType::kCounter, {{"hits", {}, 1, 1764075600123}}},
      {"temperature", "", MetricType::kGauge, {{"temperature", {}, -1.5, {}}}},
      {"thing", "", MetricType::kUntyped, {{"thing", {}, 2, {}}}},
  };
  EXPECT_EQ(FormatOpenMetricsText(families),
            "# TYPE requests counter\n"
            "# HELP requests Requests \\\"served\\\"\n"
            "requests_total{code=\"200\"} 3\n"
            "# TYPE hits counter\n"
            "hits_total 1 1764075600.123\n"
            "# TYPE temperature gauge\n"
            "temperature -1.5\n"
            "# TYPE thing unknown\n"
            "thing 2\n"
            "# EOF\n");
  EXPECT_EQ(FormatOpenMetricsText({}), "# EOF\n");
}

TEST(ExposeMetrics, NegotiatesOpenMetricsThroughAccept) {
  const std::vector<MetricFamily> f = {{"up", "", MetricType::kGauge, {{"up", {}, 1, {}}}}};
  // What Prometheus 2.x sends.
  Exposition e = ExposeMetrics(f, "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                                  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
  EXPECT_EQ(e.content_type, kOpenMetricsContentType);
  EXPECT_NE(e.body.find("# EOF"), std::string::npos);
  for (const char* accept : {"", "text/plain", "*/*", "application/openmetrics-text;q=0", "application/json"}) {
    e = ExposeMetrics(f, accept);
    EXPECT_EQ(e.content_type, kPrometheusContentType) << accept;
    EXPECT_EQ(e.body, FormatPrometheusText(f)) << accept;
  }
}

TEST(PrometheusText, AnEmptyLabelValueIsNoLabelBothWays) {
  Result<std::vector<MetricFamily>> parsed = ParsePrometheusText("x{a=\"1\",empty=\"\"} 1\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->size(), 1u);
  const Labels expected = {{"a", "1"}};
  EXPECT_EQ((*parsed)[0].samples[0].labels, expected);
  EXPECT_FALSE(ParsePrometheusText("x{a=\"\",a=\"1\"} 1\n").ok()) << "still a duplicate";
  MetricFamily family;
  family.name = "y";
  family.type = MetricType::kCounter;
  family.samples.push_back({"y", {{"client_service", ""}, {"code", "200"}}, 3, std::nullopt});
  EXPECT_NE(FormatPrometheusText({family}).find("y{code=\"200\"} 3\n"), std::string::npos)
      << FormatPrometheusText({family});
}

}  // namespace
}  // namespace mesh
