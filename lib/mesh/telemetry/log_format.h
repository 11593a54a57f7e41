// Output formats for log records: JSON lines (the default when stdout is not a terminal),
// pretty (one aligned line per record, coloured on a terminal unless NO_COLOR is set),
// logfmt, and raw (the message alone). Stored text never reaches a terminal raw (see
// AppendFormatted). Pure functions, thread-safe.
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
// Pretty and logfmt print stored text TerminalSafe (terminal_text.h): a record cannot act on
// the terminal. Raw is the message exactly as stored, for pipes; `escape_raw` (meshlog sets it
// when standard output is a terminal) prints it TerminalSafe too. JSON escapes every control
// character by itself.
void AppendFormatted(std::string& out, const LogRecord& record, OutputFormat format, bool color,
                     bool escape_raw = false);

}  // namespace mesh
