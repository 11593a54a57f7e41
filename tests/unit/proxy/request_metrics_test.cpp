#include "mesh/proxy/request_metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

namespace mesh {
namespace proxy_request_metrics_test {

using Direction = HttpProxy::Direction;
using LabelPairs = std::vector<std::pair<std::string, std::string>>;

ProxiedRequest Finished(int status, int64_t duration_ns = 2'000'000, std::string client_service = "") {
  ProxiedRequest r;
  r.status = status;
  r.duration_ns = duration_ns;
  r.attempts = 1;
  r.client_service = std::move(client_service);
  return r;
}

// The sample of `name` whose labels include all of `labels`; -1 when none.
double Sample(const MetricsRegistry& registry, const std::string& name, const LabelPairs& labels) {
  for (const MetricFamily& f : registry.Collect()) {
    for (const MetricSample& s : f.samples) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& wanted : labels) {
        match = match && std::find(s.labels.begin(), s.labels.end(), wanted) != s.labels.end();
      }
      if (match) return s.value;
    }
  }
  return -1;
}

size_t SeriesCount(const MetricsRegistry& registry, const std::string& name) {
  for (const MetricFamily& f : registry.Collect()) {
    if (f.name == name) return f.samples.size();
  }
  return 0;
}

TEST(RequestMetrics, CountsEachLabelSetIntoItsOwnSeries) {
  MetricsRegistry registry;
  RequestMetrics metrics(registry, "orders");
  metrics.Count(Finished(200), Direction::kInbound);
  metrics.Count(Finished(200), Direction::kInbound);
  metrics.Count(Finished(200), Direction::kOutbound);
  metrics.Count(Finished(200, 1, "web"), Direction::kInbound);
  ProxiedRequest denied = Finished(403, 1, "intruder");
  denied.denied = true;
  metrics.Count(denied, Direction::kInbound);
  ProxiedRequest timed_out = Finished(504, 1);
  timed_out.error = "upstream timed out";
  timed_out.attempts = 3;
  metrics.Count(timed_out, Direction::kOutbound);
  // A relay the client cut short: its status is the upstream's, not a proxy answer.
  ProxiedRequest cut = Finished(200, 1);
  cut.error = "client went away";
  metrics.Count(cut, Direction::kInbound);

  EXPECT_EQ(Sample(registry, "mesh_requests_total", {{"direction", "inbound"}, {"code", "200"}, {"client_service", ""}}), 3);
  EXPECT_EQ(Sample(registry, "mesh_requests_total", {{"direction", "outbound"}, {"code", "200"}}), 1);
  EXPECT_EQ(Sample(registry, "mesh_requests_total", {{"code", "200"}, {"client_service", "web"}}), 1);
  EXPECT_EQ(Sample(registry, "mesh_requests_total", {{"code", "403"}, {"client_service", "intruder"}}), 1);
  EXPECT_EQ(Sample(registry, "mesh_policy_denials_total", {{"client_service", "intruder"}}), 1);
  EXPECT_EQ(Sample(registry, "mesh_proxy_errors_total", {{"direction", "outbound"}, {"code", "504"}}), 1);
  EXPECT_EQ(Sample(registry, "mesh_proxy_errors_total", {{"code", "200"}}), -1);
  EXPECT_EQ(Sample(registry, "mesh_request_retries_total", {{"direction", "outbound"}}), 2);
  EXPECT_EQ(Sample(registry, "mesh_request_retries_total", {{"direction", "inbound"}}), -1);
  EXPECT_EQ(Sample(registry, "mesh_request_duration_seconds_count", {{"direction", "inbound"}}), 5);
  EXPECT_EQ(Sample(registry, "mesh_request_duration_seconds_count", {{"direction", "outbound"}}), 2);
  EXPECT_EQ(metrics.label_sets(), 5u);  // the cut relay shares the first label set
}

// The request path's counting: eight threads race on label sets they all see for the first time
// at once, then keep counting into them. Every request must be in the merged totals.
TEST(RequestMetrics, EightThreadsCountingAtOnceGiveTheExactTotals) {
  MetricsRegistry registry;
  RequestMetrics metrics(registry, "orders");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100'000;
  const int codes[] = {200, 201, 404, 503};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Durations spread over the buckets: 0.5 ms .. 12 s, the same multiset in every thread.
        const int64_t duration_ns = int64_t{500'000} << (i % 15);
        metrics.Count(Finished(codes[i % 4], duration_ns, (i / 4) % 2 ? "web" : ""),
                      t % 2 ? Direction::kOutbound : Direction::kInbound);
      }
    });
  }
  for (std::thread& t : threads) t.join();

  double total = 0;
  for (const int code : codes) {
    for (const char* direction : {"inbound", "outbound"}) {
      for (const char* caller : {"", "web"}) {
        const double n = Sample(registry, "mesh_requests_total",
                                {{"direction", direction}, {"code", std::to_string(code)}, {"client_service", caller}});
        // Each (code, caller) pair is one eighth of a thread's requests; half the threads per direction.
        EXPECT_EQ(n, kThreads / 2 * kPerThread / 8) << code << " " << direction << " '" << caller << "'";
        total += n;
      }
    }
  }
  EXPECT_EQ(total, kThreads * kPerThread);
  EXPECT_EQ(metrics.label_sets(), 16u);
  for (const char* direction : {"inbound", "outbound"}) {
    const double count = Sample(registry, "mesh_request_duration_seconds_count", {{"direction", direction}});
    EXPECT_EQ(count, kThreads / 2 * kPerThread);
    EXPECT_EQ(Sample(registry, "mesh_request_duration_seconds_bucket", {{"direction", direction}, {"le", "+Inf"}}), count);
    // 0.5 ms and 1 ms fall in the 1 ms bucket: i % 15 in {0, 1}, 2 of every 15 requests (+ the
    // remainder's first two of 100,000 = 6,666 × 15 + 10).
    const double per_thread_le_1ms = 6'666 * 2 + 2;
    EXPECT_EQ(Sample(registry, "mesh_request_duration_seconds_bucket", {{"direction", direction}, {"le", "0.001"}}),
              kThreads / 2 * per_thread_le_1ms);
  }
}

// A flood of label sets (distinct callers) cannot grow the table past its capacity; what does
// not fit is still counted, through the families' own (locked) lookup.
TEST(RequestMetrics, LabelSetsBeyondTheTableAreStillCountedAndMemoryStaysBounded) {
  MetricsRegistry registry;
  RequestMetrics metrics(registry, "orders");
  constexpr int kCallers = 5000;
  for (int i = 0; i < kCallers; ++i) metrics.Count(Finished(200, 1, "caller-" + std::to_string(i)), Direction::kInbound);
  EXPECT_EQ(metrics.label_sets(), 2048u);
  EXPECT_EQ(Sample(registry, "mesh_request_duration_seconds_count", {{"direction", "inbound"}}), kCallers);
  // mesh_requests_total keeps its cardinality cap.
  EXPECT_EQ(SeriesCount(registry, "mesh_requests_total"), MetricsRegistry::kDefaultMaxSeries);
  // A caller seen before the table filled is still found and counted.
  metrics.Count(Finished(200, 1, "caller-0"), Direction::kInbound);
  EXPECT_EQ(Sample(registry, "mesh_requests_total", {{"client_service", "caller-0"}}), 2);
}

TEST(RequestMetrics, OddStatusesAreLabelSetsLikeAnyOther) {
  MetricsRegistry registry;
  RequestMetrics metrics(registry, "orders");
  for (const int status : {-1, 0, 999, 2'147'483'647}) metrics.Count(Finished(status), Direction::kInbound);
  EXPECT_EQ(Sample(registry, "mesh_requests_total", {{"code", "-1"}}), 1);
  EXPECT_EQ(Sample(registry, "mesh_requests_total", {{"code", "2147483647"}}), 1);
  EXPECT_EQ(Sample(registry, "mesh_request_duration_seconds_count", {}), 4);
}

TEST(RequestMetrics, AnotherRegistrationOfItsFamiliesIsAProgrammingError) {
  MetricsRegistry registry;
  RequestMetrics metrics(registry, "orders");
  EXPECT_DEATH(RequestMetrics(registry, "orders"), "already registered");
}

}  // namespace
}  // namespace mesh
