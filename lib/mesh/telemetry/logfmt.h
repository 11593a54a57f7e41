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
// \t \r. Errors: InvalidArgument for an unterminated quote, a key starting with '=' or '"',
// or a line with no pairs at all.
Result<LogfmtPairs> ParseLogfmt(std::string_view line);

// Appends `key=value`, quoting the value when it is empty or holds a space, '=', '"' or a
// control character.
void AppendLogfmtPair(std::string& out, std::string_view key, std::string_view value);

}  // namespace mesh
