// OtlpSignal: the three kinds of telemetry OTLP carries, each sent to its own path of an
// OTLP/HTTP receiver (/v1/traces, /v1/logs, /v1/metrics). Plain enum and pure functions.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace mesh {

enum class OtlpSignal : int { kTraces = 0, kLogs = 1, kMetrics = 2 };

inline constexpr std::array<OtlpSignal, 3> kOtlpSignals = {OtlpSignal::kTraces, OtlpSignal::kLogs,
                                                           OtlpSignal::kMetrics};

// "traces", "logs", "metrics": the flag's words, the metric label's value and the path's last part.
constexpr std::string_view OtlpSignalName(OtlpSignal signal) {
  switch (signal) {
    case OtlpSignal::kTraces: return "traces";
    case OtlpSignal::kLogs: return "logs";
    case OtlpSignal::kMetrics: return "metrics";
  }
  return "";
}

// The signal named `name` (as OtlpSignalName writes it), or nullopt.
constexpr std::optional<OtlpSignal> ParseOtlpSignal(std::string_view name) {
  for (OtlpSignal s : kOtlpSignals) {
    if (OtlpSignalName(s) == name) return s;
  }
  return std::nullopt;
}

}  // namespace mesh
