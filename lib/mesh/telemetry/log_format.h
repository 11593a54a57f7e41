// Output formats for log records: JSON lines (the default when stdout is not a terminal),
// pretty (one aligned line per record, coloured on a terminal unless NO_COLOR is set),
// logfmt, and raw (the message alone). Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mesh/telemetry/log_record.h"

namespace mesh {

enum class OutputFormat { kJson, kPretty, kLogfmt, kRaw };

// "json", "pretty", "logfmt", "raw"; nullopt otherwise.
std::optional<OutputFormat> ParseOutputFormat(std::string_view text);

// Pretty on a terminal, JSON lines otherwise (so `meshlog tail | jq` just works).
OutputFormat DefaultOutputFormat(bool stdout_is_tty);

// Colour only on a terminal, and never when NO_COLOR is set to anything non-empty
// (https://no-color.org).
bool UseColor(bool stdout_is_tty, const char* no_color_env);

// Appends the record in `format`, followed by a newline. `color` applies to pretty only.
void AppendFormatted(std::string& out, const LogRecord& record, OutputFormat format, bool color);

}  // namespace mesh
