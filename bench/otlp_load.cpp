// otlp_load: posts OTLP/HTTP trace batches to meshd from concurrent clients and reports
// spans/s, the peer-free half of bench/meshd_bench.sh.
//   otlp_load URL CLIENTS BATCHES_PER_CLIENT SPANS_PER_BATCH [json|proto]
// Every span id is fresh (seeded per client and run), so meshd stores every span. Both
// encodings carry the same spans (EncodeOtlpTraces / EncodeOtlpTracesProto of one batch), so
// that a JSON run and a protobuf run compare the decoders on the same work.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mesh/base/trace_id.h"
#include "mesh/http/http_client.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/otlp_proto/otlp_proto.h"
#include "mesh/telemetry/otlp.h"

namespace {

// 10 spans per trace, the first the parent of the other nine, 3 attributes each.
std::vector<mesh::Span> Batch(mesh::IdGenerator& ids, int client, int spans_per_batch, int64_t start_ns) {
  std::vector<mesh::Span> spans;
  std::string trace, parent;
  for (int i = 0; i < spans_per_batch; ++i) {
    if (i % 10 == 0) {
      trace = ids.NewTraceId();
      parent.clear();
    }
    mesh::Span s;
    s.trace_id = trace;
    s.span_id = ids.NewSpanId();
    s.parent_span_id = parent;
    s.service = "svc" + std::to_string(client);
    s.name = "GET /api/orders";
    s.kind = mesh::SpanKind::kServer;
    s.start_ns = start_ns + i * 1000;
    s.duration_ns = 120'000'000;
    s.attributes = R"({"http.method":"GET","http.status_code":200,"http.route":"/api/orders"})";
    if (parent.empty()) parent = s.span_id;
    spans.push_back(std::move(s));
  }
  return spans;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view encoding = argc == 6 ? argv[5] : "json";
  if ((argc != 5 && argc != 6) || (encoding != "json" && encoding != "proto")) {
    std::fprintf(stderr, "usage: otlp_load URL CLIENTS BATCHES_PER_CLIENT SPANS_PER_BATCH [json|proto]\n");
    return 2;
  }
  const bool proto = encoding == "proto";
  const std::string url = std::string(argv[1]) + "/v1/traces";
  const int clients = std::atoi(argv[2]);
  const int batches = std::atoi(argv[3]);
  const int spans_per_batch = std::atoi(argv[4]);
  const std::string content_type = proto ? std::string(mesh::kOtlpProtobufContentType) : "application/json";
  // Bodies are built before the clock starts: the figure is meshd's, not the generator's.
  std::vector<std::vector<std::string>> bodies(clients);
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  for (int c = 0; c < clients; ++c) {
    mesh::IdGenerator ids;
    for (int b = 0; b < batches; ++b) {
      const std::vector<mesh::Span> spans = Batch(ids, c, spans_per_batch, now);
      bodies[c].push_back(proto ? mesh::EncodeOtlpTracesProto(spans) : mesh::EncodeOtlpTraces(spans));
    }
  }
  std::atomic<long> failures{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      mesh::CurlHttpClient http(60000);
      for (const std::string& body : bodies[c]) {
        auto r = http.Send("POST", url, body, {{"Content-Type", content_type}});
        // A full success answers {} in JSON and an empty ExportTraceServiceResponse in protobuf.
        if (!r.ok() || r->status != 200 || r->body != (proto ? "" : "{}")) ++failures;
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
