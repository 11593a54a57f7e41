// A service logging with mesh::Logger: JSON lines on stdout and records in the mesh store,
// each carrying the trace it belongs to. Build against an installed libmesh, or see
// CMakeLists.txt (target logger_example).
//
//   ./logger_example /tmp/demo.db && meshlog --db /tmp/demo.db tail --service checkout
#include <cstdio>

#include "mesh/base/trace_id.h"
#include "mesh/sdk/log_sinks.h"
#include "mesh/telemetry/logger.h"

int main(int argc, char** argv) {
  mesh::Logger log("checkout", mesh::LogLevel::kInfo);
  log.AddSink(mesh::MakeStreamSink(stdout));
  if (argc > 1) {
    auto store = mesh::MakeStoreSink(argv[1]);
    if (!store.ok()) {
      std::fprintf(stderr, "logger_example: %s\n", store.status().message().c_str());
      return 1;
    }
    log.AddSink(*store);
  }

  log.Info("service started", {{"port", 8080}});
  {
    mesh::IdGenerator& ids = mesh::IdGenerator::ThreadLocal();
    mesh::ScopedTraceContext span(ids.NewTraceId(), ids.NewSpanId());
    log.Info("order placed", {{"order_id", 42}, {"total", 19.99}, {"currency", "EUR"}});
    log.Debug("not shown: below the minimum level");
    log.Error("payment declined", {{"order_id", 42}, {"retryable", false}});
  }
  log.Warn("shutting down");
  log.Flush();
  return 0;
}
