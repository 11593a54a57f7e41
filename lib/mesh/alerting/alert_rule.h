// AlertRule: one alerting rule of a rules file (what to measure, for which services, the
// condition, how long it must hold, and what the alert says), parsed and validated from JSON.
//
//   {"rules": [{"name": "high_error_rate", "signal": "error_rate", "service": "*",
//               "window": "1m", "op": ">", "threshold": 5, "for": "60s",
//               "severity": "critical", "annotations": {"summary": "{{service}}: {{value}}%"}}]}
//
// A bare array of rules is accepted too. A document may also say `"defaults": false`, which
// default_alert_rules.h reads: ParseAlertRules checks it is a boolean and returns the file's
// own rules only. Errors name the rule and the field, like
// `promtool check rules`. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/telemetry/log_level.h"

namespace mesh {

enum class SignalKind {
  kErrorRate,    // % of requests answered 5xx
  kRequestRate,  // requests per second
  kLatency,      // a quantile of request duration, in milliseconds
  kLogRate,      // log records at or above a level, per second
  kMetric,       // any stored metric, aggregated over the window
  kHealthyInstances,  // registered instances whose last heartbeat is at most one TTL old
  kSaturation,   // work refused or dropped for lack of room, per second
};

enum class MetricAggregate { kAvg, kMin, kMax, kSum, kRate };

struct AlertSignal {
  SignalKind kind = SignalKind::kErrorRate;
  double quantile = 0;                  // kLatency: 0.5, 0.9, 0.95 or 0.99
  LogLevel level = LogLevel::kError;    // kLogRate
  std::string metric;                   // kMetric: the stored series name
  MetricAggregate aggregate = MetricAggregate::kAvg;
  std::vector<std::pair<std::string, std::string>> match;  // kMetric: extra label equalities
};

enum class CompareOp { kGt, kLt, kGe, kLe, kEq, kNe };
enum class Severity { kInfo, kWarning, kCritical };

struct AlertRule {
  std::string name;
  std::string signal_text;  // as written, e.g. "latency_p99"
  AlertSignal signal;
  std::string service = "*";  // a name or a glob (* ? [..])
  int64_t window_ns = 60'000'000'000;
  CompareOp op = CompareOp::kGt;
  double threshold = 0;
  int64_t for_ns = 0;
  int64_t keep_firing_for_ns = 0;
  // Once firing, the alert resolves only when the value no longer passes `op` against this
  // (e.g. fire above 5 %, resolve below 3 %): hysteresis against flapping.
  std::optional<double> resolve_threshold;
  Severity severity = Severity::kWarning;
  // "no_data": "ok" — no data (no service matches, nothing measured) is OK, not UNKNOWN: for a
  // signal that only some deployments have (a registry, sidecars), as the built-ins use it.
  bool no_data_ok = false;
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::pair<std::string, std::string>> annotations;  // templates
};

// Parses and validates a rules document. Errors are InvalidArgument, naming the rule (by name
// or position) and the field: `rule "high_latency": field "window": ...`.
Result<std::vector<AlertRule>> ParseAlertRules(std::string_view json);

// Whether `value op threshold` holds.
bool Compare(CompareOp op, double value, double threshold);
std::string_view CompareOpText(CompareOp op);
std::string_view SeverityName(Severity severity);  // "info", "warning", "critical"
// The unit a signal's values are in, for humans: "%", "req/s", "ms", "/s", "".
std::string_view SignalUnit(const AlertSignal& signal);

// Shell-style glob: * any run, ? one character, [abc] / [a-z] / [!a] a set. Whole-string match.
bool GlobMatch(std::string_view pattern, std::string_view text);

// Fills {{service}}, {{value}}, {{threshold}}, {{rule}}, {{severity}}, {{signal}} and
// {{unit}}; other text stays as is. ParseAlertRules rejects unknown placeholders.
struct TemplateValues {
  std::string service;
  std::optional<double> value;
};
std::string ExpandTemplate(std::string_view text, const AlertRule& rule, const TemplateValues& values);

// A number for humans and templates: at most 3 decimals, no trailing zeros ("5", "12.346").
std::string FormatAlertValue(double value);

}  // namespace mesh
