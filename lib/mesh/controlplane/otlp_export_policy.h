// OtlpExportPolicy: what meshd --export-otlp sends: which signals, which services, and which
// traces (tail sampling). A trace is kept when one of its spans is an error or slower than the
// threshold, else when its id falls under the rate: the rate test is a hash of the trace id, so
// the decision is the same on every meshd and for a span arriving after it was taken.
// Plain value type; pure functions, thread-safe. (Its items are the outbox's rows: the policy is
// applied when a request is stored, the sampling rate when a trace settles.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/store/otlp_outbox.h"
#include "mesh/telemetry/log_record.h"
#include "mesh/telemetry/metric_sample.h"
#include "mesh/telemetry/otlp_signal.h"
#include "mesh/telemetry/span.h"

namespace mesh {

struct OtlpExportPolicy {
  std::vector<OtlpSignal> signals = {kOtlpSignals.begin(), kOtlpSignals.end()};  // --export-otlp-signals
  std::vector<std::string> services;  // --export-otlp-services; empty: every service
  double sample_rate = 1.0;           // --export-otlp-sample-rate, 0..1
  int64_t keep_slower_than_ns = 0;    // --export-otlp-keep-slower-than; 0: no such rule

  // Whether items of `signal` from `service` are exported at all.
  bool Exports(OtlpSignal signal, std::string_view service) const;
  // Whether this span keeps its whole trace whatever the rate: an error, or slow.
  bool AlwaysKeeps(const Span& span) const;
  // Whether the rate keeps the trace with this id: a hash of the id below rate x 2^64.
  bool SampledIn(std::string_view trace_id) const;
};

// The outbox items (store/otlp_outbox.h) this policy exports of what an ingest request stores:
// each span, log record or metric data point of an exported signal and service, encoded alone.
std::vector<OtlpOutboxItem> OtlpSpanItems(const OtlpExportPolicy& policy, const std::vector<Span>& spans);
std::vector<OtlpOutboxItem> OtlpLogItems(const OtlpExportPolicy& policy, const std::vector<LogRecord>& records);
std::vector<OtlpOutboxItem> OtlpMetricItems(const OtlpExportPolicy& policy, const std::vector<MetricFamily>& families,
                                            int64_t now_ns);

// "traces,logs" as signals. Errors: InvalidArgument naming an unknown or repeated word, or none.
Result<std::vector<OtlpSignal>> ParseOtlpSignals(std::string_view list);

}  // namespace mesh
