// otlp_load: posts OTLP/HTTP JSON trace batches to meshd from concurrent clients and reports
// spans/s, the peer-free half of bench/meshd_bench.sh.
//   otlp_load URL CLIENTS BATCHES_PER_CLIENT SPANS_PER_BATCH
// Every span id is fresh (seeded per client and run), so meshd stores every span.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "mesh/base/trace_id.h"
#include "mesh/http/http_client.h"
#include "mesh/http_curl/curl_http_client.h"

namespace {

std::string Batch(mesh::IdGenerator& ids, int client, int spans_per_batch, int64_t start_ns) {
  std::string body = R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc)" +
                     std::to_string(client) + R"("}}]},"scopeSpans":[{"scope":{"name":"otlp_load"},"spans":[)";
  std::string trace, parent;
  for (int i = 0; i < spans_per_batch; ++i) {
    if (i % 10 == 0) {
      trace = ids.NewTraceId();
      parent.clear();
    }
    const std::string id = ids.NewSpanId();
    if (i) body += ',';
    body += R"({"traceId":")" + trace + R"(","spanId":")" + id + R"(","parentSpanId":")" + parent +
            R"(","name":"GET /api/orders","kind":2,"startTimeUnixNano":")" + std::to_string(start_ns + i * 1000) +
            R"(","endTimeUnixNano":")" + std::to_string(start_ns + i * 1000 + 120'000'000) +
            R"(","attributes":[{"key":"http.method","value":{"stringValue":"GET"}},{"key":"http.status_code","value":{"intValue":"200"}},{"key":"http.route","value":{"stringValue":"/api/orders"}}],"status":{}})";
    if (parent.empty()) parent = id;
  }
  body += "]}]}]}";
  return body;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: otlp_load URL CLIENTS BATCHES_PER_CLIENT SPANS_PER_BATCH\n");
    return 2;
  }
  const std::string url = std::string(argv[1]) + "/v1/traces";
  const int clients = std::atoi(argv[2]);
  const int batches = std::atoi(argv[3]);
  const int spans_per_batch = std::atoi(argv[4]);
  // Bodies are built before the clock starts: the figure is meshd's, not the generator's.
  std::vector<std::vector<std::string>> bodies(clients);
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  for (int c = 0; c < clients; ++c) {
    mesh::IdGenerator ids;
    for (int b = 0; b < batches; ++b) bodies[c].push_back(Batch(ids, c, spans_per_batch, now));
  }
  std::atomic<long> failures{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      mesh::CurlHttpClient http(60000);
      for (const std::string& body : bodies[c]) {
        auto r = http.Send("POST", url, body, {{"Content-Type", "application/json"}});
        if (!r.ok() || r->status != 200 || r->body != "{}") ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double spans = static_cast<double>(clients) * batches * spans_per_batch;
  std::printf("spans=%.0f seconds=%.3f spans_per_second=%.0f failures=%ld\n", spans, seconds,
              spans / seconds, failures.load());
  return failures.load() == 0 ? 0 : 1;
}
