// The Prometheus text exposition format 0.0.4, both ways: FormatPrometheusText writes what
// `promtool check metrics` accepts (HELP and TYPE once per family before its samples,
// escaped label values, histograms with cumulative buckets ending in le="+Inf" equal to
// _count); ParsePrometheusText reads what Prometheus clients (and meshproxy) push. Pure
// functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/telemetry/metric_sample.h"

namespace mesh {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string FormatPrometheusText(const std::vector<MetricFamily>& families);

// OpenMetrics 1.0 text, what Prometheus asks for first when it scrapes: a counter family is
// named without its _total suffix (its samples keep it), untyped is "unknown", and the text
// ends with "# EOF".
inline constexpr std::string_view kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
std::string FormatOpenMetricsText(const std::vector<MetricFamily>& families);

// The exposition an Accept header asks for: OpenMetrics when it names
// application/openmetrics-text (with a non-zero q), else the 0.0.4 text format.
struct Exposition {
  std::string_view content_type;
  std::string body;
};
Exposition ExposeMetrics(const std::vector<MetricFamily>& families, std::string_view accept);

// Samples come back grouped in families by their TYPE line (a sample without one is untyped;
// x_bucket/x_sum/x_count belong to a histogram family x). Errors: InvalidArgument naming the
// line and what is wrong with it.
Result<std::vector<MetricFamily>> ParsePrometheusText(std::string_view text);

// Checks what the text format cannot express but Prometheus relies on: every histogram series
// has a le="+Inf" bucket, equal to its _count when one is given. (promtool does not check.)
// Errors: InvalidArgument naming the series.
Status CheckHistograms(const std::vector<MetricFamily>& families);

// Reads back a label set written by LabelsText: {a="1",b="x\"y"}.
Result<Labels> ParseLabelsText(std::string_view text);

bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

// Formats a sample value as Prometheus does: NaN, +Inf, -Inf, else the shortest round trip.
std::string FormatMetricValue(double value);

}  // namespace mesh
