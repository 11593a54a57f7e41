#include "mesh/telemetry/log_level.h"

#include <cctype>
#include <string>

namespace mesh {

std::optional<LogLevel> ParseLogLevel(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "debug" || lower == "trace" || lower == "dbg" || lower == "verbose") {
    return LogLevel::kDebug;
  }
  if (lower == "info" || lower == "information" || lower == "notice" || lower == "inf") {
    return LogLevel::kInfo;
  }
  if (lower == "warn" || lower == "warning" || lower == "wrn") return LogLevel::kWarn;
  if (lower == "error" || lower == "err" || lower == "eror") return LogLevel::kError;
  if (lower == "fatal" || lower == "critical" || lower == "crit" || lower == "panic" ||
      lower == "emerg" || lower == "emergency" || lower == "alert" || lower == "ftl") {
    return LogLevel::kFatal;
  }
  return std::nullopt;
}

std::optional<LogLevel> LevelFromSeverityNumber(int severity) {
  if (severity < 1 || severity > 24) return std::nullopt;
  if (severity <= 8) return LogLevel::kDebug;  // TRACE and DEBUG ranges
  if (severity <= 12) return LogLevel::kInfo;
  if (severity <= 16) return LogLevel::kWarn;
  if (severity <= 20) return LogLevel::kError;
  return LogLevel::kFatal;
}

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarn: return "WARN";
    case LogLevel::kError: return "ERROR";
    case LogLevel::kFatal: return "FATAL";
  }
  return "INFO";
}

}  // namespace mesh
