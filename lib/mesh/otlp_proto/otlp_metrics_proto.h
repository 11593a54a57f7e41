// OTLP/HTTP metrics bodies, protobuf (application/x-protobuf) and JSON (application/json), decoded
// into OtlpMetrics (mesh/telemetry/otlp_metrics.h), and the ExportMetricsServiceResponse OTLP
// expects back.
//
// Both encodings go through the same messages (proto/.../metrics/v1/metrics.proto), so they
// decode alike: JSON by libprotobuf's JSON parser, which takes the OTLP/JSON mapping
// (lowerCamelCase names, enums as integers, 64-bit integers as strings or numbers, "NaN" and
// "Infinity") and skips unknown fields (exemplars, metadata). A body nesting deeper than
// kMaxJsonDepth is refused before it is parsed, as on every JSON route.
// Per data point: an exponential histogram's points are refused (meshd stores explicit-bucket
// histograms only: configure the SDK's explicit bucket histogram aggregation), as is a number
// point without a value; a point flagged "no recorded value" is left out without counting as
// refused (Prometheus' stale marker, which meshd ignores on input too).
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/telemetry/metric_sample.h"
#include "mesh/telemetry/otlp_metrics.h"

namespace mesh {

// Errors: InvalidArgument when the body is not an ExportMetricsServiceRequest (truncated,
// garbage, a string that is not UTF-8, nested too deeply; for JSON: not JSON, or a field of the
// wrong type, with libprotobuf's description of where).
Result<OtlpMetrics> DecodeOtlpMetricsProto(std::string_view body);
Result<OtlpMetrics> DecodeOtlpMetricsJson(std::string_view body);

// ExportMetricsServiceResponse, serialized: empty when nothing was rejected, else a
// partial_success with the count and the first reason.
std::string OtlpMetricsProtoResponse(int64_t rejected, const std::string& first_error);

// One data point of stored metrics as an ExportMetricsServiceRequest of its own, for meshd's
// OTLP export (one outbox row each: a receiver reads the concatenation of such messages as one
// request, protobuf merging repeated fields).
struct OtlpEncodedPoint {
  std::string service;  // the sample's service label, "" without one
  std::string body;
};
// Encodes families as meshd stores them (Prometheus model) into OTLP, the inverse of
// OtlpMetricMapper: label service is the resource's service.name and instance its
// service.instance.id, the other labels point attributes; a counter is a monotonic cumulative
// sum, a gauge or untyped family a gauge, a histogram's _bucket/_sum/_count series one
// explicit-bucket histogram point per label set, a summary's quantiles/_sum/_count one summary
// point. Times are the samples' own, else now_ns. Bucket samples without a valid le are left out.
std::vector<OtlpEncodedPoint> EncodeOtlpMetricPointsProto(const std::vector<MetricFamily>& families, int64_t now_ns);

}  // namespace mesh
