// OpenTelemetry names as Prometheus names, after the OpenTelemetry "Prometheus and OpenMetrics
// compatibility" specification: what a metric sent over OTLP is called in meshd's store and on
// /metrics. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace mesh {

// What the metric is, for the suffixes its name takes.
enum class PrometheusNameKind { kCounter, kGauge, kOther };

// The metric name: characters outside [a-zA-Z0-9_:] become '_', runs of '_' collapse to one, a
// leading digit gets a '_' in front; then the unit's word is appended unless the name already
// has it (UCUM units as the specification lists them: "s" -> seconds, "By" -> bytes,
// "ms" -> milliseconds, "m/s" -> meters_per_second; annotations in braces such as "{request}"
// are dropped; "1" is "ratio" for a gauge and nothing otherwise; a unit the table does not
// know is sanitised as a name is); a counter ends in _total. "" when nothing of the name is
// left (a name of only invalid characters).
std::string PrometheusMetricName(std::string_view otel_name, std::string_view unit, PrometheusNameKind kind);

// A label name: characters outside [a-zA-Z0-9_] become '_', a leading digit gets "key_" in
// front and a leading "__" (reserved for Prometheus' own labels) gets "key". "" for "".
std::string PrometheusLabelName(std::string_view key);

}  // namespace mesh
