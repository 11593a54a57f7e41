// logfmt: the key=value line format of Heroku, Go's log/slog TextHandler and many others
// (`ts=2026-11-25T13:00:00Z level=info msg="user logged in" user=42`). Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesh/base/status.h"

namespace mesh {

using LogfmtPairs = std::vector<std::pair<std::string, std::string>>;

// Parses one line. A bare key (`debug`) has an empty value; quoted values unescape \" \\ \n
// \t \r, \xNN and \uNNNN (a code point, as UTF-8); any other backslash is dropped. Errors: InvalidArgument for an unterminated quote, a key starting with '=' or '"',
// or a line with no pairs at all.
Result<LogfmtPairs> ParseLogfmt(std::string_view line);

// Appends `key=value`, quoting the value when it is empty or holds a space, '=', '"', '\\' or a
// character a terminal acts on (terminal_text.h). Inside the quotes " and \ are escaped with a
// backslash, and those characters as AppendTerminalSafe writes them (\n, \x1b, \u202e), so
// the line is safe to print and ParseLogfmt gives the value back exactly. Invalid UTF-8 is
// replaced by U+FFFD. A key cannot be quoted: its spaces, '=', '"' and terminal controls are
// written as the same escapes, an empty key as "_", and it is not read back as it was.
void AppendLogfmtPair(std::string& out, std::string_view key, std::string_view value);

}  // namespace mesh
