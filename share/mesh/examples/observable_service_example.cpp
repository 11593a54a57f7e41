// A complete observable C++ service in a few lines: mesh::ObservableService traces, counts,
// times and logs every request, and serves /metrics and /healthz.
//
//   observable_service_example --listen 127.0.0.1:8080 --meshd http://127.0.0.1:9000
//   curl -i localhost:8080/hello/world          # X-Trace-ID in the answer
//   curl -s localhost:8080/metrics | grep http_server_requests_total
//   meshtrace list --service greeter            # the request's spans, with --meshd
#include <CLI/CLI.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "mesh/base/process_signals.h"
#include "mesh/sdk/observable_service.h"

int main(int argc, char** argv) {
  mesh::ObservableService::Options options;
  options.name = "greeter";
  options.listen = "127.0.0.1:8080";
  CLI::App app{"observable_service_example: a traced, measured, logged HTTP service", "observable_service_example"};
  app.add_option("--listen", options.listen, "Address to serve on")->capture_default_str();
  app.add_option("--meshd", options.meshd, "meshd URL for spans and logs (default: keep them local)");
  CLI11_PARSE(app, argc, argv);

  // A business metric of our own, registered before the first request, beside the RED
  // metrics the helper keeps in the same registry.
  mesh::MetricsRegistry registry;
  options.registry = &registry;
  mesh::Result<mesh::Family<mesh::Counter>*> family = registry.AddCounter("greetings_total", "Greetings given");
  mesh::Result<mesh::Counter*> greetings = family.ok() ? (*family)->WithLabels({}) : family.status();
  if (!greetings.ok()) return 1;

  auto service = mesh::ObservableService::Start(options, [&](const mesh::HttpRequest& r, mesh::ObservableService::Context& c) {
    if (r.path.rfind("/hello/", 0) != 0) return mesh::HttpResponse::Error(404, "try /hello/<name>");
    const std::string who = r.path.substr(7);
    {
      mesh::ScopedSpan lookup = c.tracer.StartChild(c.span, "choose greeting");
      lookup.SetAttribute("who", who);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    (*greetings)->Inc();
    c.log.Info("greeted", {{"who", who}});
    return mesh::HttpResponse::Json(200, "{\"greeting\":\"hello " + who + "\"}");
  });
  if (!service.ok()) {
    std::fprintf(stderr, "observable_service_example: %s\n", service.status().message().c_str());
    return 1;
  }
  std::printf("greeter listening on 127.0.0.1:%d\n", (*service)->port());
  std::fflush(stdout);
  mesh::InstallStopHandlers();
  while (mesh::SleepUnlessStopped(std::chrono::milliseconds(500))) {
  }
  return 0;
}
