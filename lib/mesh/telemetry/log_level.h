// Log severity levels. Values are OpenTelemetry severity numbers (DEBUG 5, INFO 9, WARN 13,
// ERROR 17, FATAL 21), so a "warn and above" filter is a numeric comparison and OTLP logs map
// without a table. Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string_view>

namespace mesh {

enum class LogLevel : int {
  kDebug = 5,
  kInfo = 9,
  kWarn = 13,
  kError = 17,
  kFatal = 21,
};

// Case-insensitive: debug, info, warn, error, fatal, and the usual aliases (trace, notice,
// warning, err, critical, panic, ...). nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view text);

// Maps an OpenTelemetry severity number (1..24) to its level; nullopt outside that range.
std::optional<LogLevel> LevelFromSeverityNumber(int severity);

// "DEBUG", "INFO", "WARN", "ERROR", "FATAL".
std::string_view LevelName(LogLevel level);

}  // namespace mesh
