// The Prometheus remote-write 1.0 request body: a prometheus.WriteRequest (protobuf, our
// proto/prometheus/*.proto) compressed with snappy's block format, as a remote-write receiver
// (Prometheus, Mimir, Thanos, VictoriaMetrics) takes it with
// Content-Encoding: snappy and Content-Type: application/x-protobuf. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/telemetry/metric_sample.h"

namespace mesh {

// The headers a remote-write 1.0 request carries besides the caller's own.
std::vector<std::pair<std::string, std::string>> RemoteWriteHeaders();

// One series per distinct (name, labels), in order of first appearance, its samples in the order
// given (the sender gives them oldest first, as the specification wants); labels sorted by name,
// the name as __name__. Samples without timestamp_ms are sent at 0: callers set it.
std::string EncodeRemoteWriteRequest(const std::vector<MetricSample>& samples);

// The samples of a remote-write body, series by series (the name from __name__). Errors:
// InvalidArgument when the body is not snappy, not a WriteRequest, or would inflate beyond
// max_bytes.
Result<std::vector<MetricSample>> DecodeRemoteWriteRequest(std::string_view body, size_t max_bytes = 64 << 20);

}  // namespace mesh
