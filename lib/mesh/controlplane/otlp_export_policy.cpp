#include "mesh/controlplane/otlp_export_policy.h"

#include <algorithm>
#include <cmath>

#include "mesh/otlp_proto/otlp_metrics_proto.h"
#include "mesh/otlp_proto/otlp_proto.h"

namespace mesh {
namespace {

// splitmix64's finaliser: trace ids that are not random (sequential, or with a fixed half) still
// spread evenly over the range compared with the rate.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

bool OtlpExportPolicy::Exports(OtlpSignal signal, std::string_view service) const {
  if (std::find(signals.begin(), signals.end(), signal) == signals.end()) return false;
  return services.empty() || std::find(services.begin(), services.end(), service) != services.end();
}

bool OtlpExportPolicy::AlwaysKeeps(const Span& span) const {
  if (span.status == SpanStatus::kError) return true;
  return keep_slower_than_ns > 0 && span.duration_ns > keep_slower_than_ns;
}

bool OtlpExportPolicy::SampledIn(std::string_view trace_id) const {
  if (sample_rate >= 1) return true;
  if (!(sample_rate > 0)) return false;
  // FNV-1a over the id's text, then mixed: every character counts, whatever the id's form.
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : trace_id) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  // rate x 2^64, computed in long double so that a rate near 1 does not overflow.
  const long double bound = static_cast<long double>(sample_rate) * 18446744073709551616.0L;
  return static_cast<long double>(Mix(h)) < bound;
}

std::vector<OtlpOutboxItem> OtlpSpanItems(const OtlpExportPolicy& policy, const std::vector<Span>& spans) {
  std::vector<OtlpOutboxItem> items;
  for (const Span& span : spans) {
    if (!policy.Exports(OtlpSignal::kTraces, span.service)) continue;
    items.push_back({OtlpSignal::kTraces, EncodeOtlpTracesProto({span}), span.trace_id, policy.AlwaysKeeps(span)});
  }
  return items;
}

std::vector<OtlpOutboxItem> OtlpLogItems(const OtlpExportPolicy& policy, const std::vector<LogRecord>& records) {
  std::vector<OtlpOutboxItem> items;
  for (const LogRecord& record : records) {
    if (!policy.Exports(OtlpSignal::kLogs, record.service)) continue;
    items.push_back({OtlpSignal::kLogs, EncodeOtlpLogsProto({record}), "", false});
  }
  return items;
}

std::vector<OtlpOutboxItem> OtlpMetricItems(const OtlpExportPolicy& policy, const std::vector<MetricFamily>& families,
                                            int64_t now_ns) {
  std::vector<OtlpOutboxItem> items;
  if (std::find(policy.signals.begin(), policy.signals.end(), OtlpSignal::kMetrics) == policy.signals.end()) {
    return items;  // not even encoded
  }
  for (OtlpEncodedPoint& point : EncodeOtlpMetricPointsProto(families, now_ns)) {
    if (!policy.Exports(OtlpSignal::kMetrics, point.service)) continue;
    items.push_back({OtlpSignal::kMetrics, std::move(point.body), "", false});
  }
  return items;
}

Result<std::vector<OtlpSignal>> ParseOtlpSignals(std::string_view list) {
  std::vector<OtlpSignal> signals;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string_view word = list.substr(start, comma - start);
    const std::optional<OtlpSignal> signal = ParseOtlpSignal(word);
    if (!signal) {
      return Status::InvalidArgument("'" + std::string(word) + "' is not a signal (expected traces, logs, metrics)");
    }
    if (std::find(signals.begin(), signals.end(), *signal) != signals.end()) {
      return Status::InvalidArgument("'" + std::string(word) + "' is named twice");
    }
    signals.push_back(*signal);
    start = comma + 1;
  }
  return signals;
}

}  // namespace mesh
