// mesh_demo_service: the tiny HTTP service `make demo` runs behind meshproxy sidecars, and the
// integration tests use as an upstream. It answers every request on 127.0.0.1:PORT; with
// --next it first calls that service through its sidecar's outbound port (Host: <next>),
// passing the incoming traceparent on so that the trace continues, as an instrumented service
// would. --fail-percent answers that share of requests 500, --slow-percent delays that share
// by --slow-ms (a slow tail). For the proxy's streaming tests, GET /bytes/N answers N MiB and
// a request with a body to /size answers how many bytes it received.
//
// It is built on mesh::ObservableService (dogfooding): every request is counted and timed on
// its own GET /metrics (http_server_* RED metrics), and with --meshd its spans (a SERVER span
// per request, a CLIENT span per call to --next) and access logs go to meshd.
//
//   mesh_demo_service --name orders --port 8081 --next payments --outbound 127.0.0.1:15102
//                     --meshd http://127.0.0.1:9000
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

#include "mesh/base/process_signals.h"
#include "mesh/http/http_client.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/sdk/observable_service.h"

int main(int argc, char** argv) {
  std::string name = "demo";
  int port = 0;
  std::string next;
  std::string outbound = "127.0.0.1:15002";
  double fail_percent = 0;
  double slow_percent = 0;
  int slow_ms = 300;
  size_t max_body_mib = 8;
  std::string meshd;
  CLI::App app{"mesh_demo_service: a tiny HTTP service for the mesh demo and tests", "mesh_demo_service"};
  app.add_option("--name", name, "Service name, echoed in answers")->capture_default_str();
  app.add_option("--port", port, "Port on 127.0.0.1 (0: any free port, printed)")->capture_default_str();
  app.add_option("--next", next, "Service to call through the sidecar before answering");
  app.add_option("--outbound", outbound, "The sidecar's outbound address")->capture_default_str();
  app.add_option("--fail-percent", fail_percent, "Share of requests answered 500")->capture_default_str();
  app.add_option("--slow-percent", slow_percent, "Share of requests delayed")->capture_default_str();
  app.add_option("--slow-ms", slow_ms, "Delay of a slow request")->capture_default_str();
  app.add_option("--max-body-mib", max_body_mib, "Largest request body accepted")->capture_default_str();
  app.add_option("--meshd", meshd, "Send spans and access logs to this meshd, e.g. http://127.0.0.1:9000");
  CLI11_PARSE(app, argc, argv);

  auto handler = [&](const mesh::HttpRequest& r, mesh::ObservableService::Context& c) {
    // Each server thread its own generator (a thread_local declared outside would never be
    // initialised on those threads).
    thread_local std::mt19937_64 random{std::random_device{}()};
    if (r.path.rfind("/bytes/", 0) == 0) {
      mesh::HttpResponse big;
      big.content_type = "application/octet-stream";
      big.body.assign(std::strtoul(r.path.c_str() + 7, nullptr, 10) << 20, 'x');
      return big;
    }
    if (r.path == "/size") return mesh::HttpResponse::Json(200, "{\"received\":" + std::to_string(r.body.size()) + "}");
    std::uniform_real_distribution<double> percent(0.0, 100.0);
    if (percent(random) < slow_percent) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms));
    std::string downstream;
    if (!next.empty()) {
      thread_local mesh::CurlHttpClient client(5000);
      mesh::ScopedSpan call = c.tracer.StartChild(c.span, "GET " + next, mesh::SpanKind::kClient);
      std::vector<std::pair<std::string, std::string>> headers = {{"Host", next}};
      // Our spans join the trace only when they are exported; otherwise the caller's context
      // goes on unchanged, so that no span points at a parent nobody stored.
      const std::string traceparent = meshd.empty() ? r.Header("traceparent") : call.traceparent();
      if (!traceparent.empty()) headers.emplace_back("traceparent", traceparent);
      mesh::Result<mesh::HttpClientResponse> answer = client.Send("GET", "http://" + outbound + r.path, "", headers);
      if (!answer.ok()) {
        call.SetStatus(mesh::SpanStatus::kError, answer.status().message());
        return mesh::HttpResponse::Error(502, next + ": " + answer.status().message());
      }
      call.SetAttribute("http.response.status_code", static_cast<int64_t>(answer->status));
      if (answer->status >= 500) {
        call.SetStatus(mesh::SpanStatus::kError, "HTTP " + std::to_string(answer->status));
        return mesh::HttpResponse::Error(502, next + " answered " + std::to_string(answer->status));
      }
      downstream = ",\"next\":" + answer->body;
    }
    if (percent(random) < fail_percent) return mesh::HttpResponse::Error(500, name + " failed (simulated)");
    return mesh::HttpResponse::Json(200, "{\"service\":\"" + name + "\"" + downstream + "}");
  };
  mesh::ObservableService::Options options;
  options.name = name;
  options.listen = "127.0.0.1:" + std::to_string(port);
  options.max_body_bytes = max_body_mib << 20;
  options.meshd = meshd;
  options.log_stream = nullptr;  // access logs to meshd only: nobody reads this stdout
  auto server = mesh::ObservableService::Start(options, handler);
  if (!server.ok()) {
    std::fprintf(stderr, "mesh_demo_service: %s\n", server.status().message().c_str());
    return 1;
  }
  std::printf("mesh_demo_service %s listening on 127.0.0.1:%d\n", name.c_str(), (*server)->port());
  std::fflush(stdout);
  mesh::InstallStopHandlers();
  while (mesh::SleepUnlessStopped(std::chrono::milliseconds(500))) {
  }
  return 0;
}
