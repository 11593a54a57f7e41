// The Logger sinks that leave the process: into a mesh store, or to meshd over OTLP/HTTP.
// They live in the sdk, above the store and the HTTP client, so that a program that logs only
// to a stream (meshproxy) links neither SQLite nor libcurl.
#pragma once

#include <memory>
#include <string>

#include "mesh/base/status.h"
#include "mesh/telemetry/logger.h"

namespace mesh {

// Records committed to the store at `db_path` in batches by a background thread; flushed
// when the sink is destroyed. Errors: as Store::Open.
Result<std::shared_ptr<LogSink>> MakeStoreSink(const std::string& db_path);
// Records shipped to meshd (POST /v1/logs, OTLP/HTTP JSON) in batches by a background thread,
// at least every second; flushed when the sink is destroyed. Records meshd does not take are
// counted in failures(). Errors: InvalidArgument for a URL that is not http(s)://.
Result<std::shared_ptr<LogSink>> MakeMeshdSink(const std::string& meshd_url, const std::string& token = "");

}  // namespace mesh
