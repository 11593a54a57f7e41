// The Prometheus text exposition format 0.0.4, both ways: FormatPrometheusText writes what
// `promtool check metrics` accepts (HELP and TYPE once per family before its samples,
// escaped label values, histograms with cumulative buckets ending in le="+Inf" equal to
// _count); ParsePrometheusText reads what Prometheus clients (and meshproxy) push. Pure
// functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mesh/metric_sample.h"
#include "mesh/status.h"

namespace mesh {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string FormatPrometheusText(const std::vector<MetricFamily>& families);

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
